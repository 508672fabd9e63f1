#!/usr/bin/env python3
"""Reference renderer for Sovra's chat-template parity tests.

Renders every *.jinja in a folder over the conversations of a suite file with Python's Jinja2, set up
the way Hugging Face's apply_chat_template does (transformers/utils/chat_template_utils.py):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loop-controls extension
and a {% generation %} extension, tojson = json.dumps(ensure_ascii=False, ...), raise_exception and
strftime_now globals, and render(messages=, tools=, documents=None, add_generation_prompt=,
bos_token=, eos_token=, **extra).

usage: tmpl-render.py SUITE.json TEMPLATE_DIR > reference.json
       tmpl-render.py --snippets SNIPPETS.json > snippets-reference.json
Output: {"template file": {"case name": {"out": text} | {"error": "Type: message"}}}
With --snippets: {"snippet name": {"out": text} | {"error": ...}} for [{"name", "template", "vars"}].
"""
import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationExtension(jinja2.ext.Extension):
    """HF's AssistantTracker when not tracking: {% generation %} renders its body (inside a call block)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return now.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationExtension, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def snippets(path):
    with open(path, encoding="utf-8") as f:
        suite = json.load(f)
    env = make_env(datetime.datetime.fromisoformat(suite["now"]))
    result = {}
    for snip in suite["snippets"]:
        try:
            result[snip["name"]] = {"out": env.from_string(snip["template"]).render(**snip.get("vars", {}))}
        except Exception as e:
            result[snip["name"]] = {"error": f"{type(e).__name__}: {e}"}
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True))
    sys.stdout.write("\n")


def main():
    if sys.argv[1] == "--snippets":
        snippets(sys.argv[2])
        return
    suite_path, template_dir = sys.argv[1], sys.argv[2]
    with open(suite_path, encoding="utf-8") as f:
        suite = json.load(f)
    env = make_env(datetime.datetime.fromisoformat(suite["now"]))
    result = {}
    for name in sorted(os.listdir(template_dir)):
        if not name.endswith(".jinja"):
            continue
        with open(os.path.join(template_dir, name), encoding="utf-8", newline="") as f:
            source = f.read()
        per_case = {}
        try:
            template = env.from_string(source)
        except Exception as e:  # the whole template fails to compile
            err = {"error": f"{type(e).__name__}: {e}"}
            result[name] = {case["name"]: err for case in suite["cases"]}
            continue
        for case in suite["cases"]:
            kwargs = dict(messages=case["messages"],
                          tools=(suite["tools_flat"] if case.get("tools") == "flat" else suite["tools"]) if case.get("tools") else None,
                          documents=None,
                          add_generation_prompt=case["add_generation_prompt"],
                          bos_token=suite["bos_token"], eos_token=suite["eos_token"])
            kwargs.update(case.get("extra", {}))
            try:
                per_case[case["name"]] = {"out": template.render(**kwargs)}
            except Exception as e:
                per_case[case["name"]] = {"error": f"{type(e).__name__}: {e}"}
        result[name] = per_case
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
