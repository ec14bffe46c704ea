"""Machine-readable reports: one function per format, each returning text.

The text report for people lives in ``grader.report_text`` (the one module
that uses rich).
"""

from __future__ import annotations

import json

from grader.results import Report


def to_json(report: Report) -> str:
    """The contract's ``--format json`` object."""
    return json.dumps({
        "score": report.score,
        "max_score": report.max_score,
        "seed": report.seed,
        "exercises": [
            {
                "exercise": exercise.exercise,
                "title": exercise.title,
                "score": exercise.score,
                "max_score": exercise.max_score,
                "duration_s": exercise.duration_s,
                "checks": [
                    {
                        "id": check.id,
                        "name": check.name,
                        "status": check.status.value,
                        "points": check.points if check.counts else 0.0,
                        "max_points": check.max_points,
                        "message": check.message or exercise.problem,
                        "hint": "" if check.status.value == "passed" else (check.hints[0] if check.hints else ""),
                    }
                    for check in exercise.checks
                ],
            }
            for exercise in report.exercises
        ],
    }, indent=2)
