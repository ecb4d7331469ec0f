"""The answer shapes of Casdoor's system routes (util.SystemInfo, util.VersionInfo,
object.PrometheusInfo and the dashboard's), as Casdoor's JSON names them."""

from __future__ import annotations

from pydantic import BaseModel

# Casdoor's get-dashboard counts these kinds, one list of 31 daily totals each ("<kind>Counts").
DASHBOARD_KINDS: tuple[str, ...] = (
    "organization", "user", "provider", "application", "token", "subscription", "role", "group", "resource",
    "cert", "permission", "transaction", "model", "adapter", "enforcer",
)  # fmt: skip
DASHBOARD_DAYS = 30  # the lists hold today and the 30 days before it
HEATMAP_DAYS = 365
ALL_ORGANIZATIONS = "All"  # Casdoor's dashboard owner for "every organization"


class SystemInfo(BaseModel):
    cpuUsage: list[float]
    memoryUsed: int
    memoryTotal: int
    diskUsed: int
    diskTotal: int
    networkSent: int
    networkRecv: int
    networkTotal: int


class VersionInfo(BaseModel):
    version: str
    commitId: str
    commitOffset: int


class ProviderTypeCount(BaseModel):
    type: str
    count: int


class MfaCoverage(BaseModel):
    enabled: int
    disabled: int
    total: int


class DayCount(BaseModel):
    date: str
    count: int


class LoginHeatmap(BaseModel):
    data: list[DayCount]
    maxCount: int
    dateRange: tuple[str, str]


class ApiThroughput(BaseModel):
    method: str
    name: str
    throughput: float


class ApiLatency(BaseModel):
    method: str
    name: str
    count: int
    latency: str  # milliseconds, three decimals, as Casdoor writes it


class PrometheusInfo(BaseModel):
    apiThroughput: list[ApiThroughput]
    apiLatency: list[ApiLatency]
    totalThroughput: float
