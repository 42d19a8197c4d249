#!/usr/bin/env python3
"""Renders Home Assistant value templates with Jinja2, as Home Assistant's MQTT integration does.

Reads a JSON list of {"template", "payload"} on stdin; prints a JSON list of the rendered strings
(or {"error": ...} for a template that does not render). value is the payload text, value_json
the payload parsed as JSON.
"""
import json
import sys

from jinja2 import Environment, StrictUndefined

env = Environment(undefined=StrictUndefined)
out = []
for job in json.load(sys.stdin):
    try:
        payload = job["payload"]
        try:
            value_json = json.loads(payload)
        except ValueError:
            value_json = None
        out.append(env.from_string(job["template"]).render(value=payload, value_json=value_json).strip())
    except Exception as e:  # noqa: BLE001 - every failure is reported to the test
        out.append({"error": f"{type(e).__name__}: {e}"})
json.dump(out, sys.stdout)
