"""Who may read the server's dashboards and facts, and how they are computed."""

from __future__ import annotations

import time
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version

import psutil

from hookdoor.api.context import ApiContext
from hookdoor.db.types import parse_rfc3339, rfc3339, utcnow
from hookdoor.errors import Forbidden, NotAuthenticated
from hookdoor.identity.credentials import secrets_equal
from hookdoor.metrics import HttpMetrics
from hookdoor.system.repository import DashboardRepository
from hookdoor.system.schemas import (
    ALL_ORGANIZATIONS,
    DASHBOARD_DAYS,
    DASHBOARD_KINDS,
    HEATMAP_DAYS,
    ApiLatency,
    ApiThroughput,
    DayCount,
    LoginHeatmap,
    MfaCoverage,
    PrometheusInfo,
    ProviderTypeCount,
    SystemInfo,
    VersionInfo,
)


def may_read_metrics(context: ApiContext) -> bool:
    """Global administrators, or whoever holds HOOKDOOR_METRICS_KEY (query metricsKey or the
    X-Metrics-Key header): the metrics describe the whole server."""
    key = context.settings.metrics_key
    given = context.request.query_params.get("metricsKey") or context.request.headers.get("x-metrics-key", "")
    if key is not None and given and secrets_equal(given, key.get_secret_value()):
        return True
    return context.principal.is_global_admin


def require_metrics_reader(context: ApiContext) -> None:
    if may_read_metrics(context):
        return
    if not context.principal.authenticated:
        raise NotAuthenticated()
    raise Forbidden("metrics are for global administrators or holders of the metrics key")


def _daily_totals(before: int, created: list[str], now_seconds: float) -> list[int]:
    """Casdoor's dashboard series: for each of the last 31 days (oldest first), how many objects
    existed at that moment of the day."""
    moments = sorted(t.timestamp() for t in map(parse_rfc3339, created) if t is not None)
    totals = []
    for days_ago in range(DASHBOARD_DAYS, -1, -1):
        cut = now_seconds - days_ago * 86400
        totals.append(before + sum(1 for moment in moments if moment < cut))
    return totals


class SystemService:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.dashboards = DashboardRepository(context.db)

    def dashboard_scope(self, owner: str) -> str | None:
        """The organization a dashboard covers (None: all of them), if the caller may see it."""
        principal = self.context.require_login()
        if owner in ("", ALL_ORGANIZATIONS):
            if not principal.is_global_admin:
                raise Forbidden("only global administrators may see the dashboard of every organization")
            return None
        if not principal.manages(owner):
            raise Forbidden(f"you may not see the dashboard of organization {owner!r}")
        self.context.action.concerns(organization=owner)
        return owner

    async def dashboard(self, owner: str) -> dict[str, list[int]]:
        organization = self.dashboard_scope(owner)
        now = utcnow()
        since = rfc3339(now - timedelta(days=DASHBOARD_DAYS))
        series = {}
        for kind in DASHBOARD_KINDS:
            before, created = await self.dashboards.created_times(kind, organization, since)
            series[f"{kind}Counts"] = _daily_totals(before, created, now.timestamp())
        return series

    async def provider_distribution(self, owner: str) -> list[ProviderTypeCount]:
        counts = await self.dashboards.provider_types(self.dashboard_scope(owner))
        ranked = sorted(counts, key=lambda pair: -pair[1])
        return [ProviderTypeCount(type=kind or "Unknown", count=count) for kind, count in ranked]

    async def mfa_coverage(self, owner: str) -> MfaCoverage:
        total, enabled = await self.dashboards.mfa_counts(self.dashboard_scope(owner))
        return MfaCoverage(enabled=enabled, disabled=total - enabled, total=total)

    async def login_heatmap(self, owner: str) -> LoginHeatmap:
        organization = self.dashboard_scope(owner)
        now = utcnow()
        start = now - timedelta(days=HEATMAP_DAYS)
        days = await self.dashboards.logins_per_day(organization, start)
        data = [DayCount(date=date[:10], count=count) for date, count in days]
        return LoginHeatmap(data=data, maxCount=max((d.count for d in data), default=0),
                            dateRange=(start.date().isoformat(), now.date().isoformat()))

    def system_info(self) -> SystemInfo:
        self.context.require_global_admin()
        memory = psutil.virtual_memory()
        disk = psutil.disk_usage(str(self.context.settings.data_dir))
        network = psutil.net_io_counters()
        return SystemInfo(
            # Since the previous call (psutil keeps the last sample): Casdoor samples a whole
            # second, which would hold the request's transaction open that long.
            cpuUsage=psutil.cpu_percent(percpu=True),
            memoryUsed=memory.used, memoryTotal=memory.total, diskUsed=disk.used, diskTotal=disk.total,
            networkSent=network.bytes_sent, networkRecv=network.bytes_recv,
            networkTotal=network.bytes_sent + network.bytes_recv,
        )

    def version_info(self) -> VersionInfo:
        self.context.require_global_admin()
        try:
            installed = version("hookdoor")
        except PackageNotFoundError:
            installed = ""
        return VersionInfo(version=installed, commitId="", commitOffset=0)

    def prometheus_info(self, metrics: HttpMetrics) -> PrometheusInfo:
        require_metrics_reader(self.context)
        return prometheus_info(metrics, uptime=max(time.time() - psutil.Process().create_time(), 1.0))


def prometheus_info(metrics: HttpMetrics, uptime: float) -> PrometheusInfo:
    """Casdoor's summary of its API metrics, from this process's HTTP metrics: per route, the
    requests per second (averaged over the process's life: Casdoor's is the last second's) and the
    mean latency in milliseconds."""
    counts: dict[str, float] = {}
    sums: dict[str, float] = {}
    for family in metrics.latency.collect():
        for sample in family.samples:
            route = sample.labels.get("route", "")
            if sample.name.endswith("_count"):
                counts[route] = sample.value
            elif sample.name.endswith("_sum"):
                sums[route] = sample.value
    throughput = [ApiThroughput(method="", name=route, throughput=count / uptime) for route, count in counts.items()]
    latency = [
        ApiLatency(method="", name=route, count=int(count), latency=f"{1000 * sums.get(route, 0) / count:.3f}")
        for route, count in counts.items() if count
    ]
    return PrometheusInfo(apiThroughput=throughput, apiLatency=latency,
                          totalThroughput=sum(item.throughput for item in throughput))
