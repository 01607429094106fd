# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kamal.deploy developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's state after a deploy or rollback that failed somewhere: per host and role, the version serving
now and what happened (booted, failed, not reached), from what the run already knows.

Each host registers the results of its ``kamal_app`` boots (``kamal_app_primary`` and ``kamal_app_others``, one
loop each, kept when one failed); its roles boot in order (primary first) and a failure stops the host, so the
roles before the last result's role booted and the ones after it were not reached. A call that booted several roles
at once (boot.parallel_roles) has a result per role (``parallel``). No server is asked anything.
"""

from __future__ import annotations

BOOTED = "booted"
FAILED = "failed"
NOT_REACHED = "not reached"
REASON_WIDTH = 140


def _reason(host, result):
    """The first line of the error, without the host the row already names."""
    lines = str(result.get("msg") or "").strip().splitlines()
    text = lines[0] if lines else "no message"
    prefix = "on %s: " % host
    text = text[len(prefix):] if text.startswith(prefix) else text.replace(" on %s:" % host, ":", 1)
    return text if len(text) <= REASON_WIDTH else text[:REASON_WIDTH - 3] + "..."


def _row(host, role, state, serving=None, known=False, detail=""):
    return {"host": host, "role": role, "state": state, "serving_version": serving, "serving_known": known,
            "detail": detail}


def last_app_result(host_vars):
    """The last kamal_app result a host registered (its other roles' loop, else its primary role's), or None."""
    for name in ("kamal_app_others", "kamal_app_primary"):
        results = (host_vars.get(name) or {}).get("results") or []
        if results:
            return results[-1]
    return None


def _parallel_rows(host, roles, result, version):
    """A call that booted several roles at once (boot.parallel_roles): a row from each role's own result; the
    roles before them booted in earlier calls, the ones after were not reached."""
    own = {entry.get("role"): entry for entry in result["parallel"]}
    covered = [index for index, role in enumerate(roles) if role in own]
    first, last = (min(covered), max(covered)) if covered else (len(roles), len(roles) - 1)
    rows = [_row(host, role, BOOTED, version, True) for role in roles[:first]]
    for role in roles[first:last + 1]:
        entry = own.get(role)
        if entry is None:
            rows.append(_row(host, role, NOT_REACHED))
        elif entry.get("failed"):
            rows.append(_row(host, role, FAILED, entry.get("serving_version"), "serving_version" in entry,
                             _reason(host, entry)))
        else:
            rows.append(_row(host, role, BOOTED, entry.get("serving_version") or version, True,
                             "" if entry.get("boot_changed", entry.get("changed")) else "already running it"))
    return rows + [_row(host, role, NOT_REACHED) for role in roles[last + 1:]]


def host_rows(host, roles, result, version):
    """The rows of one host: ``roles`` in boot order, ``result`` its last kamal_app result (None: never reached)."""
    if not result:
        return [_row(host, role, NOT_REACHED) for role in roles]
    if result.get("parallel"):
        return _parallel_rows(host, roles, result, version)
    reached = result.get("role") or ((result.get("invocation") or {}).get("module_args") or {}).get("role")
    if reached not in roles:  # failed before kamal_app could say which role (unreachable, bad arguments)
        return [_row(host, role, FAILED, detail=_reason(host, result)) for role in roles]
    index = roles.index(reached)
    rows = [_row(host, role, BOOTED, version, True) for role in roles[:index]]
    if result.get("failed") or result.get("unreachable"):
        known = "serving_version" in result
        rows.append(_row(host, reached, FAILED, result.get("serving_version"), known, _reason(host, result)))
    else:
        rows.append(_row(host, reached, BOOTED, result.get("serving_version") or version, True,
                         "" if result.get("boot_changed", result.get("changed")) else "already running it"))
    rows += [_row(host, role, NOT_REACHED) for role in roles[index + 1:]]
    return rows


def fleet_rows(hosts, version):
    """``hosts``: ``(host, role names in boot order, last kamal_app result or None)`` in the run's host order."""
    return [row for host, roles, result in hosts for row in host_rows(host, roles, result, version)]


def _serving_text(row):
    if not row["serving_known"]:
        return "as before" if row["state"] == NOT_REACHED else "unknown"
    return row["serving_version"] or "not running"


def _what_happened(row):
    if row["state"] == BOOTED:
        return BOOTED + (" (%s)" % row["detail"] if row["detail"] else "")
    if row["state"] == NOT_REACHED:
        return NOT_REACHED
    if not row["serving_known"]:
        where = ""
    elif row["serving_version"]:
        where = ", still on the previous version"
    else:
        where = ", the role is not running there"
    return "failed%s: %s" % (where, row["detail"])


def render(rows, command, version):
    """The table a user reads at the end of the run: one line per host and role."""
    counts = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    summary = ", ".join("%d %s" % (counts[state], state) for state in (BOOTED, FAILED, NOT_REACHED) if state in counts)
    table = [("host", "role", "serving now", "what happened")]
    table += [(row["host"], row["role"], _serving_text(row), _what_happened(row)) for row in rows]
    widths = [max(len(line[column]) for line in table) for column in range(3)]
    lines = ["%s of %s did not complete (%s of %d host/role pairs). Each host now:"
             % (command, version, summary, len(rows))]
    for line in table:
        lines.append("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line[:3])) + "  " + line[3])
    return "\n".join(lines)
