#!/usr/bin/env python3
"""Summarises a `meson test` run from its testlog.json.

usage: test_summary.py [--build-failed] BUILD_DIR/meson-logs/testlog.json

A doctest executable counts its test cases (its "[doctest] test cases: N |
P passed | F failed | S skipped" line); one that crashed or timed out counts
every case as failed (asking it with --count), or 1 failed when it cannot
tell. Any other test counts as 1; --build-failed adds 1 failed for the build. Prints one line per test, then, last,
exactly "N passed, M failed" (", K skipped" when K > 0). Exits 1 if anything
failed or the log is missing.
"""

import json
import os
import re
import subprocess
import sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed"
                     r"(?:\s*\|\s*(\d+) skipped)?")
COUNT = re.compile(r"\[doctest\] unskipped test cases passing the current filters:\s*(\d+)")
PASSING = {"OK", "EXPECTEDFAIL"}


def is_doctest(test, output):
    if "[doctest]" in output:
        return True
    cmd = test.get("command") or []
    try:
        with open(cmd[0], "rb") as f:
            return f.read(4) == b"\x7fELF" and b"[doctest]" in f.read()
    except (OSError, IndexError):
        return False


def count_cases(test):
    """Number of test cases of a doctest executable, or 0 if it cannot say."""
    try:
        p = subprocess.run(test["command"] + ["--count"], capture_output=True, text=True,
                           timeout=60, check=False, env={**os.environ, **_env(test)})
    except (OSError, subprocess.SubprocessError, KeyError):
        return 0
    m = COUNT.search(p.stdout)
    return int(m.group(1)) if m else 0


def _env(test):
    env = test.get("env")
    return env if isinstance(env, dict) else {}


def tally(test):
    """(passed, failed, skipped, note) for one test of the log."""
    result = test.get("result", "ERROR")
    output = (test.get("stdout") or "") + (test.get("stderr") or "")
    if result == "SKIP":
        return 0, 0, 1, "skipped"
    if not is_doctest(test, output):
        return (1, 0, 0, "ok") if result in PASSING else (0, 1, 0, result.lower())
    summaries = SUMMARY.findall(output)
    if summaries:
        _, passed, failed, skipped = (int(x or 0) for x in summaries[-1])
        if result in PASSING:
            return passed, failed, skipped, "doctest"
        if failed > 0:
            return passed, failed, skipped, "doctest, %s" % result.lower()
        return passed, 1, skipped, "doctest exited %s after its summary" % result.lower()
    cases = count_cases(test)
    return 0, max(cases, 1), 0, "doctest %s before its summary" % result.lower()


def main(argv):
    build_failed = "--build-failed" in argv
    argv = [a for a in argv if a != "--build-failed"]
    if len(argv) != 2 or not os.path.exists(argv[1]):
        print("test summary: no test log (%s)" % (argv[1] if len(argv) > 1 else "none"))
        print("0 passed, %d failed" % (2 if build_failed else 1))
        return 1
    totals = [0, 1, 0] if build_failed else [0, 0, 0]
    with open(argv[1], encoding="utf-8") as f:
        tests = [json.loads(line) for line in f if line.strip()]
    print("---- summary ----")
    if build_failed:
        print("%-45s %4d passed %4d failed %4d skipped  (%s)"
              % ("build (ninja)", 0, 1, 0, "some targets failed to build; see above"))
    for test in tests:
        passed, failed, skipped, note = tally(test)
        totals = [totals[0] + passed, totals[1] + failed, totals[2] + skipped]
        print("%-45s %4d passed %4d failed %4d skipped  (%s)"
              % (test.get("name", "?"), passed, failed, skipped, note))
    if not tests:
        print("test summary: no test ran")
        totals[1] += 1
    line = "%d passed, %d failed" % (totals[0], totals[1])
    if totals[2]:
        line += ", %d skipped" % totals[2]
    print(line)
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
