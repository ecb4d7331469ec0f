"""docs/benchmarks.md from a bench/run.py results dict: tables, targets, charts, Casdoor's bound."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

# Read in Casdoor's object/webhook_worker.go and object/webhook_event.go (commit e6b2338 of the mirror):
# a ticker every webhookPollingInterval = 30 s calls processWebhookEvents, which takes
# GetPendingWebhookEvents(webhookBatchSize = 100) and delivers them one after another in a for loop.
CASDOOR_TICK_S = 30
CASDOOR_BATCH = 100


def fmt(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def ratio(a: Any, b: Any, digits: int = 2) -> str:
    if not a or not b:
        return "n/a"
    return f"{a / b:.{digits}f}×"


def verdict(met: bool | None) -> str:
    return "n/a (not measured)" if met is None else ("**met**" if met else "**not met**")


def render(results: dict[str, Any], results_file: Path) -> str:
    arms = {a["key"]: a for a in results.get("drain_arms", [])}
    ceiling = arms.get("ceiling", {})
    peers = [a for a in arms.values() if a["kind"] == "peer" and a.get("rate")]
    best_peer = max(peers, key=lambda a: a["rate"], default={})
    lines = [
        "# Benchmarks",
        "",
        "Produced by `bench/run.py` in one run; every figure below was measured in that run, on the machine "
        "described here. Re-run it to refresh this file, the charts and the results file "
        f"([{results_file}]({results_file})).",
        "",
        *_run_section(results),
        *_targets(results, arms, ceiling, best_peer),
        *_casdoor(results, arms),
        *_drain(results, arms, ceiling, best_peer),
        *_profile(results),
        *_steady(results),
        *_fanout(results),
        *_isolation(results),
        *_overhead(results),
        *_memory(results),
        *_postgres(arms),
        *_charts(results),
        *_errors(results),
        *_reading(),
    ]
    return "\n".join(lines) + "\n"


def _run_section(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    pv = results.get("peer_versions") or {}
    loads = results.get("load_before", {})
    secs = results.get("scenario_seconds", {})
    return [
        "## Run",
        "",
        f"- Command: `{results['command']}` (from the repository root, after `.venv/bin/pip install -e '.[bench]'`; "
        "the Celery peer installs itself into .bench-venv/celery on first use; `--quick` runs every scenario "
        "small; `--from-json docs/bench/results.json` re-renders this file and the charts)",
        f"- Date (UTC): {results['started']}; runtime {results['runtime_s']:.0f} s (planned about "
        f"{results['planned_s']:.0f} s)",
        f"- Machine: {m['nproc']} cores ({m['cpu_model']}), {m['memory_gib']} GiB memory, {m['platform']}",
        f"- Hookdoor side: Python {m['python']}; SQLite {m['sqlite']}; PostgreSQL {m['postgresql']}; aiohttp "
        f"{m['aiohttp']}, uvloop {m['uvloop']}, SQLAlchemy {m['sqlalchemy']}, asyncpg {m['asyncpg']}, uvicorn "
        f"{m['uvicorn']}, FastAPI {m['fastapi']}, standardwebhooks {m['standardwebhooks']}; charts by matplotlib "
        f"{m['matplotlib']}",
        "- Peer side (its own virtual environment, .bench-venv/celery): "
        + (", ".join(f"{k} {v}" for k, v in pv.items()) if pv else "not run")
        + (f"; broker: {results['peer_broker']['where']}" if results.get("peer_broker") else ""),
        f"- Code: commit {m['commit']}",
        "",
        "Everything runs on this machine and talks over 127.0.0.1: the receiver (`bench/receiver.py`, aiohttp + "
        "uvloop, its own process, answers 200 at once and records the arrival time), the Hookdoor processes, "
        "PostgreSQL, Redis, the Celery workers and the benchmark's own client. The machine is shared with other "
        "work: the load average before each scenario is below, and 'other processes' CPU is given where "
        "measured.",
        "",
        "| scenario | load average before (1, 5, 15 min) | seconds |",
        "| --- | --- | --- |",
        *(f"| {key} | {' '.join(f'{v:.2f}' for v in load)} | {secs.get(key, 0):.0f} |" for key, load in loads.items()),
        "",
    ]


def _targets(results: dict[str, Any], arms: dict[str, Any], ceiling: dict[str, Any],
             best_peer: dict[str, Any]) -> list[str]:
    rows = []
    for key in ("hookdoor-sqlite", "hookdoor-postgresql-1w"):
        arm = arms.get(key)
        if not arm:
            continue
        to_ceiling = arm["rate"] / ceiling["rate"] if ceiling.get("rate") and arm.get("rate") else None
        to_peer = arm["rate"] / best_peer["rate"] if best_peer.get("rate") and arm.get("rate") else None
        rows.append(f"| throughput ≥ 0.7× the ceiling ({arm['label']}) | {fmt(arm['rate'])}/s vs "
                    f"{fmt(ceiling.get('rate'))}/s: {fmt(to_ceiling, 2)}× | "
                    f"{verdict(None if to_ceiling is None else to_ceiling >= 0.7)} |")
        rows.append(f"| throughput ≥ 10× the best Celery arm ({arm['label']}) | {fmt(arm['rate'])}/s vs "
                    f"{best_peer.get('label', 'n/a')} {fmt(best_peer.get('rate'))}/s: {fmt(to_peer, 1)}× | "
                    f"{verdict(None if to_peer is None else to_peer >= 10)} |")
    for run in (results.get("serve") or {}).get("latency", []):
        bound = {0.5: 25, 0.9: 100}.get(run["fraction"])
        if bound is None:
            continue
        p99 = run["event_to_arrival"].get("p99")
        complete = run["matched"] == run["requests"]
        rows.append(f"| p99 event-to-delivery at {run['fraction']:.0%} of capacity ≤ {bound} ms | "
                    f"{fmt(p99, 1)} ms at {run['rate']:.0f}/s ({run['matched']:,} of {run['requests']:,} delivered) | "
                    f"{verdict(None if p99 is None else p99 <= bound and complete)} |")
    iso = results.get("isolation") or {}
    if iso.get("throughput_ratio") is not None:
        rows.append(f"| isolation: healthy endpoints keep ≥ 0.9× their throughput | {iso['throughput_ratio']:.2f}× "
                    f"({iso['with_hanging']['healthy_rate']:,.0f} vs {iso['without_mean_rate']:,.0f}"
                    f" deliveries/s) | {verdict(iso['throughput_ratio'] >= 0.9)} |")
    ov = (results.get("serve") or {}).get("overhead")
    if ov:
        rows.append(f"| recording overhead ≤ 1.05× (mean, back to back) | {ov['ratio_mean']:.3f}× | "
                    f"{verdict(ov['ratio_mean'] <= 1.05)} |")
    one, two = arms.get("hookdoor-postgresql-1w"), arms.get("hookdoor-postgresql-2w")
    if one and two and one.get("rate") and two.get("rate"):
        scale = two["rate"] / one["rate"]
        rows.append(f"| PostgreSQL: two workers ≥ 1.7× one | {scale:.2f}× ({two['rate']:,.0f} vs {one['rate']:,.0f}/s)"
                    f" | {verdict(scale >= 1.7)} |")
    for mem in results.get("memory") or []:
        spread = mem["rss_after_first_minute"]["spread"]
        long_enough = mem["elapsed_s"] >= 60
        rows.append(f"| worker RSS flat (within 10 % after the first minute), {mem['backend']} | "
                    f"{fmt(mem['rss_after_first_minute']['min'], 1)}–{fmt(mem['rss_after_first_minute']['max'], 1)} "
                    f"MB ({fmt(spread * 100 if spread is not None else None, 1)} %; "
                    f"{mem['rss_after_first_minute']['basis']}) over {mem['elapsed_s']:.0f} s, "
                    f"{mem['delivered']:,} of {mem['backlog']:,} delivered | "
                    f"{verdict(None if spread is None or not long_enough else spread <= 0.10)} |")
    return ["## Targets (issue 14; ratios in this run)", "", "| target | measured | verdict |", "| --- | --- | --- |",
            *rows, "", "Where a target is **not met**, the section below that measures it says by how much; section "
            "1b is the CPU profile of the worker in this run, which shows where its time per delivery goes.", ""]


def _casdoor(results: dict[str, Any], arms: dict[str, Any]) -> list[str]:
    bound = CASDOOR_BATCH / CASDOOR_TICK_S
    best = max((a for a in arms.values() if a["kind"] == "hookdoor" and a.get("rate")), key=lambda a: a["rate"],
               default=None)
    lat = next((r for r in (results.get("serve") or {}).get("latency", []) if r["fraction"] == 0.5), None)
    measured = []
    if best:
        measured.append(f"Hookdoor's best drain in this run, {best['label']}: **{best['rate']:,.0f} deliveries/s**, "
                        f"{best['rate'] / bound:,.0f}× that bound")
    if lat and lat["event_to_arrival"].get("n"):
        measured.append(f"event-to-delivery at {lat['rate']:.0f} events/s (50 % of capacity): p50 "
                        f"{lat['event_to_arrival']['p50']:.1f} ms, p99 {lat['event_to_arrival']['p99']:.1f} ms")
    return [
        "## Casdoor on paper",
        "",
        f"Casdoor's webhook worker (object/webhook_worker.go) wakes on a ticker every {CASDOOR_TICK_S} s, takes at "
        f"most {CASDOOR_BATCH} pending or retrying webhook events ordered by creation time "
        "(GetPendingWebhookEvents in object/webhook_event.go), and delivers them one after another in a plain "
        "loop, each with an HTTP client whose timeout is 30 s (object/webhook_util.go). That design bounds it at "
        f"**{CASDOOR_BATCH} / {CASDOOR_TICK_S} s ≈ {bound:.1f} deliveries/s** whatever the hardware, and an event "
        f"waits for the next tick: **~{CASDOOR_TICK_S / 2:.0f} s median latency** (uniform over the "
        f"{CASDOOR_TICK_S} s tick), longer once more than {CASDOOR_BATCH} are pending; one endpoint that hangs "
        "holds up the whole batch for up to 30 s. This is a bound read from the source, not a measurement; "
        "Casdoor was not run here.",
        "",
        *(f"- {m}" for m in measured),
        "",
    ]


def _drain(results: dict[str, Any], arms: dict[str, Any], ceiling: dict[str, Any],
           best_peer: dict[str, Any]) -> list[str]:
    if not arms:
        return []
    rows = []
    for arm in arms.values():
        f = arm["figures"]
        count = f.get("events") or f.get("tasks") or f.get("requests")
        arrived = f.get("arrived")
        check = ""
        if arm["kind"] == "hookdoor":
            check = (f"{f['db']['states']}, {f['db']['attempt_rows']:,} attempt rows, "
                     f"{f['db']['attempts_signed']:,} signed; all ok: {'yes' if f['all_ok'] else 'NO'}")
        elif arm["kind"] == "peer":
            check = (f"{f['distinct_webhook_ids']:,} distinct webhook-ids in {f.get('requests_received', 0):,} "
                     f"requests ({f.get('duplicates', 0):,} sent twice or more); peak RSS {f['peak_rss_mb']:.0f} MB")
        rows.append(
            f"| {arm['label']} | {fmt(arrived)} of {fmt(count)} | **{fmt(arm['rate'])}/s** | "
            f"{fmt(f['arrival'].get('rate_first_last'))}/s | {fmt(arm.get('cpu_us_per_delivery'))} µs | "
            f"{ratio(arm['rate'], ceiling.get('rate'))} | {ratio(arm['rate'], best_peer.get('rate'), 1)} | "
            f"{ratio(best_peer.get('cpu_us_per_delivery'), arm.get('cpu_us_per_delivery'), 1)} | {check} |")
    peer_tasks = next((a["figures"]["tasks"] for a in arms.values() if a["kind"] == "peer"), None)
    return [
        "## 1. Backlog drain",
        "",
        f"Hookdoor: a fresh database prepared by `hookdoor serve --no-worker` (migrations, bootstrap, one webhook "
        "added through the API, subscribed to `update-user`, maxConcurrency 256, pointing at the receiver), then "
        "that many `update-user` events (~1 KB user objects; delivery body "
        f"{results.get('sample_body_bytes', 0):,} bytes) inserted straight into `events`; then `hookdoor worker` "
        "process(es) (default settings) are started and the receiver's arrivals are timed. The ceiling posts the "
        "same body with the same headers (taken from the SQLite run's first attempt) from a bare aiohttp client, "
        "256 in flight. The Celery peer: "
        f"{fmt(peer_tasks)} tasks (fewer than the others: at its rate 20,000 would take minutes) published to "
        "Redis with no worker running, then one `celery worker` started with the pool shown; each task signs "
        "the same body (Standard Webhooks HMAC) and posts it with `requests`; its rate counts each task's "
        "first arrival (a task delivered twice counts once). CPU is that of the sending "
        "process(es) (for Celery the whole process tree; for the ceiling the benchmark process) per delivery.",
        "",
        "| arm | delivered | rate (middle 80 %) | first to last | CPU per delivery | × ceiling | × best peer | "
        "best peer's CPU ÷ this | check |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]


def _profile(results: dict[str, Any]) -> list[str]:
    prof = results.get("profile")
    if not prof or not prof.get("samples"):
        return []

    def table(title: str, rows: list[dict[str, Any]]) -> list[str]:
        return [f"| {title} | share of samples | µs per delivery |", "| --- | --- | --- |",
                *(f"| {r['name']} | {r['share']:.1%} | {r['us_per_delivery']:.0f} |" for r in rows), ""]

    return [
        "## 1b. Where the worker's CPU goes (py-spy profile)",
        "",
        "The SQLite drain of section 1 once more, its worker sampled by py-spy at 250 Hz from the first arrival "
        f"to the last ({prof['samples']:,} samples of running stacks; over that window the worker used "
        f"{prof['cpu_s']:.1f} s of CPU for {prof['deliveries']:,} deliveries, {prof['cpu_us_per_delivery']:.0f} µs "
        "each, sampling's own cost included). "
        "Each sample is charged to the library of its innermost frame; µs per delivery is the share times "
        "the measured CPU per delivery.",
        "",
        *table("where (innermost frame)", prof["areas"]),
        *table("function (innermost frame)", prof["self"][:12]),
        *table("Hookdoor function on the stack (inclusive)", prof["hookdoor_inclusive"][:12]),
    ]


def _steady(results: dict[str, Any]) -> list[str]:
    serve = results.get("serve") or {}
    cap = serve.get("capacity")
    if not cap:
        return []
    rows = []
    peer = results.get("peer_steady") or {}
    peer_runs = peer.get("runs") or []
    for i, run in enumerate(serve.get("latency", [])):
        ev, bare = run["event_to_arrival"], run["ceiling"]["request_to_arrival"]
        pr = peer_runs[i] if i < len(peer_runs) else {}
        pl = pr.get("latency", {})
        rows.append(f"| {run['fraction']:.0%} | {run['rate']:.0f}/s ({run['issue_rate']:.0f} issued) | "
                    f"{run['matched']:,} of {run['requests']:,} | {_trio(ev, bold=True)} | {_trio(bare)} | "
                    f"{ratio(ev.get('p99'), bare.get('p99'), 0)} | "
                    f"{_trio(pl)} ({fmt(pr.get('delivered'))} of {fmt(pr.get('published'))}) | "
                    f"{ratio(ev.get('p99'), pl.get('p99'), 2)} | {fmt(run['api_latency'].get('p99'), 1)} ms |")
    return [
        "## 2. Steady arrival: event-to-delivery latency at 25, 50 and 90 % of measured capacity",
        "",
        "`hookdoor serve` on a fresh SQLite file as it starts by default on 2 cores (its worker a child process at "
        "nice 10, woken at commit); one webhook subscribed to `update-user`. Capacity first: "
        f"{cap['clients']} callers in a closed loop for {cap['seconds']:.1f} s completed "
        f"**{cap['rate']:.0f} update-user calls/s** ({cap['calls']:,} calls, {cap['failed']} failed; server "
        f"{cap['server_cpu_ms_per_call']:.2f} ms CPU per call). Then update-user calls open-loop (call i starts "
        "at t0 + i / rate) at each fraction of that rate; latency is from `events.created_at` (stamped as the "
        "call records its event, before its commit) to the arrival at the receiver. The ceiling at the same "
        "rate: the same body posted open-loop by bare aiohttp straight to the receiver, send to arrival. "
        "Milliseconds:",
        "",
        "| of capacity | rate | delivered | Hookdoor p50 / p90 / p99 | ceiling p50 / p90 / p99 | p99 ÷ ceiling's | "
        f"Celery {peer.get('pool', '')} x {peer.get('concurrency', '')} p50 / p90 / p99 | p99 ÷ peer's | "
        "update-user p99 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "The Celery column: the best Celery arm of section 1, its worker already running, tasks published "
        "open-loop at the same rate by a producer in the peer's environment; publish → arrival at the receiver "
        "(a request of ours would publish at about the time Hookdoor's call records its event).",
        "",
    ]


def _trio(s: dict[str, Any], bold: bool = False) -> str:
    p99 = fmt(s.get("p99"), 2)
    return f"{fmt(s.get('p50'), 2)} / {fmt(s.get('p90'), 2)} / " + (f"**{p99}**" if bold else p99)


def _fanout(results: dict[str, Any]) -> list[str]:
    fan = (results.get("serve") or {}).get("fanout")
    if not fan:
        return []
    bare = results.get("ceiling_fanout") or {}
    bl = bare.get("latency", {})
    rows = []
    for i, run in enumerate(fan["runs"], start=1):
        lat = run.get("latency", {})
        rows.append(f"| Hookdoor, event {i} | {run['arrived']:,} of {fan['webhooks']:,} | {fmt(lat.get('p50'), 1)} | "
                    f"{fmt(lat.get('p99'), 1)} | {fmt(run.get('last_s', 0) * 1000, 1)} | "
                    f"{ratio(run.get('last_s'), bare.get('last_s'), 1)} |")
    last_ms = (bare.get("last_s") or 0) * 1000
    rows.append(f"| ceiling: {bare.get('requests', 0):,} bare POSTs, 256 in flight | {fmt(bl.get('n'))} | "
                f"{fmt(bl.get('p50'), 1)} | {fmt(bl.get('p99'), 1)} | {fmt(last_ms, 1)} | 1× |")
    return [
        f"## 3. Fan-out: one event to {fan['webhooks']:,} webhooks",
        "",
        f"On the same `hookdoor serve`, {fan['webhooks']:,} webhooks subscribed to `update-user` (added through "
        f"the API in {fan['add_webhooks_s']:.1f} s, each with its own path on the receiver); then one update-user "
        "call, its deliveries all received before the next. Milliseconds from the event's `created_at` (the "
        "ceiling: from its first send) to each arrival:",
        "",
        "| run | arrived | p50 | p99 | last | last × ceiling |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]


def _isolation(results: dict[str, Any]) -> list[str]:
    iso = results.get("isolation")
    if not iso or "with_hanging" not in iso:
        return []
    rows = []
    for name, phase in (("none hang", iso["without_hanging"]), ("2 of 10 hang", iso["with_hanging"]),
                        ("none hang, again", iso["without_hanging_again"])):
        lat = phase["latency"]
        rows.append(f"| {name} | {phase['calls_ok']:,} | {phase['healthy_arrived']:,} of {phase['expected_healthy']:,} "
                    f"| **{phase['healthy_rate']:,.0f}/s** | {fmt(lat.get('p50'), 1)} / {fmt(lat.get('p90'), 1)} / "
                    f"{fmt(lat.get('p99'), 1)} |")
    return [
        "## 4. Isolation: 20 % of endpoints hang until their timeout",
        "",
        f"A fresh `hookdoor serve` on SQLite with 10 webhooks subscribed to `update-user`, timeoutSeconds "
        f"{iso['timeout_s']}, maxConcurrency 64: {iso['healthy']} point at the receiver, {iso['hanging']} at its "
        "`/_hang/` path, which holds each request for 30 s (past the timeout). update-user calls open-loop at "
        f"{iso['rate']:.0f}/s for {iso['seconds']:g} s (the eight healthy webhooks then ask for a quarter of "
        "section 1's SQLite drain rate, and the calls stay at most half the API's capacity), first with "
        "the two hanging webhooks disabled, then enabled, then disabled again. The healthy eight's delivery "
        "rate (arrivals over the phase) and event-to-arrival latency (ms):",
        "",
        "| hanging | calls ok | healthy deliveries | healthy rate | p50 / p90 / p99 |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"Healthy throughput with the hanging endpoints: **{fmt(iso['throughput_ratio'], 2)}×** the mean of the "
        f"two phases without ({fmt(iso['without_mean_rate'])}/s); the "
        f"receiver held {iso['with_hanging']['hang_requests']:,} requests to the hanging endpoints in all.",
        "",
    ]


def _overhead(results: dict[str, Any]) -> list[str]:
    serve = results.get("serve") or {}
    if "overhead" not in serve:
        return []
    out = ["## 5. Recording overhead: update-user with 0 vs 10 webhooks", "",
           f"Same server as section 2. Sequential update-user calls, {serve['overhead']['calls_per_phase']} per "
           f"phase, {serve['overhead']['rounds']} rounds, each round one phase with 0 and one with 10 enabled "
           "webhooks in ABBA order; the 10-webhook phase's deliveries are all received before the next phase. "
           "Client-side latency per call, ms:", ""]
    for key, title in (("overhead", "back to back"), ("overhead_paced", "paced")):
        ov = serve.get(key)
        if not ov:
            continue
        label = title if not ov.get("pace_rate") else f"paced at {ov['pace_rate']:g} calls/s"
        out += [f"### {label.capitalize()}", "", "| webhooks | n | mean | p50 | p90 | p99 | max |",
                "| --- | --- | --- | --- | --- | --- | --- |",
                *(f"| {n} | {s['n']:,} | {s['mean']:.2f} | {s['p50']:.2f} | {s['p90']:.2f} | {s['p99']:.2f} | "
                  f"{s['max']:.2f} |" for n, s in (("0", ov["none"]), ("10", ov["ten"]))),
                "", f"Ratio 10 / 0: mean **{ov['ratio_mean']:.3f}**, p50 {ov['ratio_p50']:.3f}, p99 "
                f"{ov['ratio_p99']:.3f}. Per-phase means in order: "
                + ", ".join(f"{p['webhooks']}: {p['mean_ms']:.2f}" for p in ov["per_round"]) + ".", ""]
    return out


def _memory(results: dict[str, Any]) -> list[str]:
    runs = results.get("memory") or []
    if not runs:
        return []
    rows = []
    for mem in runs:
        samples = mem["samples"]
        first = samples[0]["rss_mb"] if samples else None
        rows.append(f"| {mem['backend']} | {mem['backlog']:,} ({mem['insert_s']:.0f} s to insert) | "
                    f"{mem['elapsed_s']:.0f} s of at most {mem['window_s']:g} s | {mem['delivered']:,} | "
                    f"{mem['rate']:,.0f}/s | {fmt(first, 1)} | {fmt(mem['rss_after_first_minute']['min'], 1)}–"
                    f"{fmt(mem['rss_after_first_minute']['max'], 1)} | "
                    f"{fmt((mem['rss_after_first_minute']['spread'] or 0) * 100, 1)} % | "
                    f"{samples[-1]['queue_depth'] if samples else 0:,} |")
    return [
        "## 6. Worker memory through a large backlog",
        "",
        "A fresh database per backend with one webhook (maxConcurrency 256); the backlog's events inserted "
        "directly into `events` (one delivery each); then one `hookdoor worker` drains it. **The draining "
        "window is bounded by time**: the worker is stopped when the window ends, drained or not. Every second "
        "the worker's RSS (psutil) and the queue depth (backlog less the deliveries arrived at the receiver) are "
        "sampled; the spread is max/min − 1 of the RSS samples after the first minute.",
        "",
        "| backend | backlog | window | delivered | rate | RSS at 1 s (MB) | RSS after 1 min, min–max (MB) | "
        "spread | queue depth at the end |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]


def _postgres(arms: dict[str, Any]) -> list[str]:
    one, two = arms.get("hookdoor-postgresql-1w"), arms.get("hookdoor-postgresql-2w")
    if not (one and two):
        return []
    return [
        "## 7. PostgreSQL: one worker, then two on one database",
        "",
        "From section 1's drains: the same backlog on a fresh PostgreSQL database (the machine's server on "
        "127.0.0.1:5432), drained by one `hookdoor worker`, then on another fresh database by two `hookdoor "
        "worker` processes at once. The receiver runs on this same machine, in its own process, and competes "
        "with the workers and PostgreSQL for the two cores.",
        "",
        "| workers | rate (middle 80 %) | CPU per delivery (all workers) | × one worker |",
        "| --- | --- | --- | --- |",
        f"| 1 | {fmt(one['rate'])}/s | {fmt(one['cpu_us_per_delivery'])} µs | 1× |",
        f"| 2 | {fmt(two['rate'])}/s | {fmt(two['cpu_us_per_delivery'])} µs | {ratio(two['rate'], one['rate'])} |",
        "",
    ]


def _charts(results: dict[str, Any]) -> list[str]:
    names = results.get("charts") or []
    return ["## Charts", "", *(f"![{Path(n).stem}]({n})" for n in names), ""] if names else []


def _errors(results: dict[str, Any]) -> list[str]:
    errors = results.get("errors") or {}
    if not errors:
        return []
    return ["## Scenarios that failed in this run", "", *(f"- {k}: `{v.splitlines()[0]}`" for k, v in errors.items()),
            ""]


def _reading() -> list[str]:
    return [
        "## How to read these figures",
        "",
        "- Ratios are within this run: every arm met the same receiver, the same bodies and the same machine "
        "load within minutes of each other. Absolute rates differ between machines; the ratios travel better.",
        "- On a 2-core machine the receiver, the database and the sender share the cores: the ceiling is the "
        "rate at which this receiver can be fed from one Python process, not a property of the network; arms "
        "of two processes (two Hookdoor workers, Celery's prefork pool of 2) can pass it.",
        "- CPU per delivery is the figure least sensitive to other load on the machine.",
        "- Peer arms exist for the drain (section 1) and the steady arrival (section 2); fan-out is compared with "
        "the ceiling only, and isolation, recording overhead and memory are Hookdoor's own figures (the peer "
        "has no event recording to compare, and was not run through them).",
        "- Single runs on a shared machine vary; a verdict close to its threshold is not a guarantee.",
        "",
    ]
