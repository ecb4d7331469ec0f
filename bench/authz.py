"""Casbin benchmark: enforce and batch-enforce (100 requests a call) against an enforcer holding a
10,000-rule RBAC policy, each beside an update-user call measured in the same run, 16 callers in a
closed loop.

    .venv/bin/python bench/authz.py                 # writes docs/benchmarks-authz.md
    .venv/bin/python bench/authz.py --seconds 3     # shorter phases, writes nothing unless --output

Every figure is measured in this run: calls/s and the CPU of `hookdoor serve` and its worker per call
(from /proc), and each phase's CPU as a ratio to update-user's ("enforce costs no more CPU than an
update-user call"). The rules are written straight into the database before the server builds the
enforcer (set-up, not measured); every call goes through HTTP as a client sends it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import delivery as common  # noqa: E402
import oauth as loops  # noqa: E402  (the closed loop)

CLIENTS = 16
BATCH = 100
ROLES, OBJECTS, RULES_PER_ROLE = 1000, 500, 9  # 9,000 p rules and 1,000 g rules: 10,000
ENFORCER = "built-in/bench-rbac"
RBAC_MODEL = """[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
"""


def rules() -> list[tuple[str, str, str, str]]:
    """Each role reaches nine of 500 objects (so each object has about 18 rules); user i has role i."""
    found = [("p", f"role{r}", f"doc{(r * 7 + k * 55) % OBJECTS}", "read" if k % 3 else "write")
             for r in range(ROLES) for k in range(RULES_PER_ROLE)]
    return [*found, *(("g", f"user{u}", f"role{u}", "") for u in range(ROLES))]


def write_rules(database: Path) -> int:
    written = rules()
    with sqlite3.connect(database, timeout=30) as connection:
        connection.executemany(
            "INSERT INTO casbin_rules (adapter, ptype, v0, v1, v2, v3, v4, v5) VALUES (?, ?, ?, ?, ?, '', '', '')",
            [("built-in/bench-adapter", *rule) for rule in written])
    return len(written)


def request(rng: random.Random) -> list[str]:
    """A random user asking, half the time, for an object and action one of its role's rules names
    (allowed), otherwise for a random object and action (nearly always denied)."""
    user = rng.randrange(ROLES)
    if rng.random() < 0.5:
        k = rng.randrange(RULES_PER_ROLE)
        return [f"user{user}", f"doc{(user * 7 + k * 55) % OBJECTS}", "read" if k % 3 else "write"]
    return [f"user{user}", f"doc{rng.randrange(OBJECTS)}", rng.choice(("read", "write"))]


async def setup(http: Any, base: str, database: Path) -> dict[str, Any]:
    api = common.Api(http, base)
    await api.login()
    users = []
    for n in range(50):
        name = f"bench-authz-{n}"
        await api.post("add-user", {**common.realistic_user(name), "password": common.ADMIN_PASSWORD})
        stored = (await api.get("get-user", id=f"built-in/{name}"))["data"]
        users.append(common.realistic_user(name, stored))
    await api.post("add-model", {"owner": "built-in", "name": "bench-rbac", "modelText": RBAC_MODEL})
    await api.post("add-adapter", {"owner": "built-in", "name": "bench-adapter", "table": "casbin_rule"})
    await api.post("add-enforcer", {"owner": "built-in", "name": "bench-rbac", "model": "built-in/bench-rbac",
                                    "adapter": "built-in/bench-adapter"})
    count = write_rules(database)
    t = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    await api.post("refresh-engines", t=t, m=hashlib.sha256(f"casbin-editor-v1|{t}".encode()).hexdigest())
    policies = (await api.get("get-policies", id=ENFORCER))["data"]
    if len(policies) != count:
        raise RuntimeError(f"the enforcer holds {len(policies)} rules, not {count}")
    return {"users": users, "rules": count}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="hookdoor-authz-bench-"))
    http = common.new_client(limit=CLIENTS * 2)
    database = work / "bench.db"
    try:
        base = await common.start_serve("serve", work, database, http, worker=True)
        ctx = await setup(http, base, database)
        users = ctx["users"]
        rngs = [random.Random(c) for c in range(CLIENTS)]
        allowed = denied = 0

        async def update_user(c: int, i: int) -> bool:
            user = users[(c + i) % len(users)]
            async with http.post(f"{base}/api/update-user", params={"id": f"built-in/{user['name']}"},
                                 json={**user, "displayName": f"authz-bench-{c}-{i}"}) as response:
                return (await response.json()).get("status") == "ok"

        async def enforce(c: int, i: int) -> bool:
            nonlocal allowed, denied
            async with http.post(f"{base}/api/enforce", params={"enforcerId": ENFORCER},
                                 json=request(rngs[c])) as response:
                answer = await response.json()
            if answer.get("status") != "ok":
                return False
            allowed += answer["data"] == [True]
            denied += answer["data"] == [False]
            return True

        async def batch_enforce(c: int, i: int) -> bool:
            async with http.post(f"{base}/api/batch-enforce", params={"enforcerId": ENFORCER},
                                 json=[request(rngs[c]) for _ in range(BATCH)]) as response:
                answer = await response.json()
            return answer.get("status") == "ok" and len(answer["data"][0]) == BATCH

        async with http.post(f"{base}/api/enforce", params={"enforcerId": ENFORCER},
                             json=["user1", "doc7", "read"]) as response:
            (await response.json())["data"]  # the enforcer built once, before the phases

        phases = {}
        for name, call in (("update-user", update_user), ("enforce", enforce),
                           (f"batch-enforce ({BATCH} requests)", batch_enforce), ("update-user (again)", update_user)):
            phases[name] = await loops.closed_loop(call, args.seconds, clients=CLIENTS)
            print(f"{name}: {phases[name]}", flush=True)
        return {"phases": phases, "rules": ctx["rules"], "allowed": allowed, "denied": denied}
    finally:
        await http.close()
        common.CHILDREN.stop_all()


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    phases = result["phases"]
    baseline = (phases["update-user"]["server_cpu_ms_per_call"]
                + phases["update-user (again)"]["server_cpu_ms_per_call"]) / 2
    command = " ".join([".venv/bin/python", "bench/authz.py", *sys.argv[1:]])
    lines = [
        "# Casbin benchmark", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `{command}` on {os.cpu_count()} cores"
        f" ({platform.processor() or platform.machine()}), Python {platform.python_version()}, SQLite,"
        " `hookdoor serve` as it starts by default (its worker in a child process).", "",
        f"One enforcer (RBAC model, `g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act`) holding"
        f" {result['rules']:,} rules: {ROLES * RULES_PER_ROLE:,} `p` rules ({ROLES:,} roles, {OBJECTS} objects)"
        f" and {ROLES:,} `g` rules. {CLIENTS} callers in a closed loop, {args.seconds:g} s per phase; enforce"
        f" asks for a random user, object and action ({result['allowed']:,} allowed, {result['denied']:,} denied"
        f" in the enforce phase); batch-enforce sends {BATCH} such requests per call. Server CPU is"
        " `hookdoor serve` and its worker, read from /proc. The ratio is each phase's CPU per call over"
        " update-user's (the mean of the phases before and after). Target: an enforce call costs no more CPU"
        " than an update-user call.", "",
        "| phase | calls | failed | calls/s | server CPU ms/call | × update-user | load before |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, phase in phases.items():
        ratio = phase["server_cpu_ms_per_call"] / baseline if baseline else float("nan")
        lines.append(f"| {name} | {phase['calls']} | {phase['failed']} | {phase['rate']:,.1f} | "
                     f"{phase['server_cpu_ms_per_call']:.3f} | {ratio:.2f} | {phase['load_before']:.2f} |")
    enforce_ratio = phases["enforce"]["server_cpu_ms_per_call"] / baseline
    batch = phases[f"batch-enforce ({BATCH} requests)"]
    lines.append(f"\nenforce: {enforce_ratio:.2f}× update-user's CPU per call: "
                 f"**{'met' if enforce_ratio <= 1.0 else 'not met'}**.")
    lines.append(f"\nbatch-enforce: {batch['server_cpu_ms_per_call'] / BATCH:.3f} ms of server CPU per request"
                 f" ({batch['rate'] * BATCH:,.0f} requests/s).")
    lines.append("\nA load above the number of cores means other programs shared the machine during the run: calls/s"
                 " then understate what the server can do; CPU per call, and the ratios within one run, still compare.")
    return "\n".join(lines) + "\n"


def main() -> None:
    loops.run_and_report(loops.phased_arguments(__doc__.splitlines()[0]).parse_args(), run, report,
                         "benchmarks-authz.md")


if __name__ == "__main__":
    main()
