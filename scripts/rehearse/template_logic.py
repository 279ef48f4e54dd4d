"""Template logic moto does not evaluate, done by the rehearsal itself: the template's Rules (moto
ignores them, so the CDK bootstrap version check would never fail there) and which outputs depend on
a resource moto skips (moto renders a Ref to such a resource as "None")."""
import re
from typing import Any


class RuleError(ValueError):
    pass


def _value(node: Any, params: dict[str, str], conditions: dict[str, Any] | None = None) -> Any:
    if isinstance(node, dict) and len(node) == 1:
        (fn, arg), = node.items()
        if fn == "Condition" and conditions is not None:
            if arg not in conditions:
                raise RuleError(f"condition {arg} is not in the template's Conditions")
            return _value(conditions[arg], params, conditions)
        if fn == "Ref":
            if arg not in params:
                raise RuleError(f"rule refers to {arg}, which is not a parameter")
            return params[arg]
        if fn == "Fn::Not":
            return not _value(arg[0], params, conditions)
        if fn == "Fn::And":
            return all(_value(a, params, conditions) for a in arg)
        if fn == "Fn::Or":
            return any(_value(a, params, conditions) for a in arg)
        if fn == "Fn::Equals":
            return _value(arg[0], params, conditions) == _value(arg[1], params, conditions)
        if fn == "Fn::Contains":
            return _value(arg[1], params, conditions) in [_value(a, params, conditions) for a in _value(arg[0], params, conditions)]
        raise RuleError(f"rule function {fn} is not evaluated by the rehearsal")
    if isinstance(node, list):
        return [_value(v, params, conditions) for v in node]
    return node


def failed_rule_assertions(template: dict[str, Any], params: dict[str, str]) -> list[str]:
    """The AssertDescription of every Rules assertion that does not hold with these parameter values."""
    failed = []
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not _value(rule["RuleCondition"], params):
            continue
        for assertion in rule.get("Assertions", []):
            if not _value(assertion["Assert"], params):
                failed.append(f"{name}: {assertion.get('AssertDescription', 'assertion failed')}")
    return failed


def references(node: Any) -> set[str]:
    """Logical ids named by Ref, Fn::GetAtt and Fn::Sub in a template fragment (pseudo parameters excluded)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for fn, arg in node.items():
            if fn == "Ref" and isinstance(arg, str) and not arg.startswith("AWS::"):
                found.add(arg)
            elif fn == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else arg.split(".")[0])
            elif fn == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                local = set(arg[1]) if isinstance(arg, list) else set()
                for var in re.findall(r"\$\{([^}!]+)\}", text):
                    if not var.startswith("AWS::") and var not in local:
                        found.add(var.split(".")[0])
                if isinstance(arg, list):
                    found |= references(arg[1])
            found |= references(arg)
    elif isinstance(node, list):
        for v in node:
            found |= references(v)
    return found


def skipped_dependencies(fragment: Any, template: dict[str, Any], skipped_types: set[str]) -> set[str]:
    """The resources of a type moto skips that a fragment references directly."""
    resources = template["Resources"]
    return {r for r in references(fragment) if resources.get(r, {}).get("Type") in skipped_types}


def _intrinsic_refs(node: Any, found: list[dict[str, Any]]) -> None:
    if isinstance(node, dict):
        for fn, arg in node.items():
            if fn == "Ref" and isinstance(arg, str):
                found.append({"Ref": arg})
            elif fn == "Fn::GetAtt" and isinstance(arg, list):
                found.append({"Fn::GetAtt": arg})
            else:
                _intrinsic_refs(arg, found)
    elif isinstance(node, list):
        for v in node:
            _intrinsic_refs(v, found)


def reference_probes(template: dict[str, Any], skipped_types: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Resources of a type moto skips are never resolved by moto, so their references would go
    unchecked. Every Ref / Fn::GetAtt they make to a resource moto creates (or to a parameter) becomes
    an output of the rehearsal's copy, which moto must resolve: (probe outputs, what each one checks).
    References between skipped resources cannot be probed and are counted apart."""
    resources = template["Resources"]
    outputs: dict[str, Any] = {}
    probes: dict[str, Any] = {"checks": {}, "unprobeable": 0}
    seen: dict[str, str] = {}
    for lid, res in resources.items():
        if res["Type"] not in skipped_types:
            continue
        found: list[dict[str, Any]] = []
        _intrinsic_refs(res.get("Properties", {}), found)
        for expr in found:
            target = expr["Ref"] if "Ref" in expr else expr["Fn::GetAtt"][0]
            if target.startswith("AWS::"):
                continue
            if resources.get(target, {}).get("Type") in skipped_types:
                probes["unprobeable"] += 1
                continue
            key = repr(expr)
            if key not in seen:
                seen[key] = f"RehearsalProbe{len(seen)}"
                outputs[seen[key]] = {"Value": expr}
                probes["checks"][seen[key]] = {"expr": expr, "target": target, "used_by": []}
            probes["checks"][seen[key]]["used_by"].append(lid)
    return outputs, probes


def probe_problems(probes: dict[str, Any], values: dict[str, str], physical: dict[str, str],
                   params: dict[str, str]) -> list[str]:
    """Each probe resolved: a Ref to a resource is its physical id, to a parameter its value; an
    Fn::GetAtt is a value (an ARN for Arn)."""
    problems = []
    for name, check in probes["checks"].items():
        expr, target, value = check["expr"], check["target"], values.get(name)
        where = f"{json_expr(expr)} in {', '.join(sorted(set(check['used_by']))[:3])}"
        if value in (None, "", "None"):
            problems.append(f"{where} did not resolve ({value!r})")
        elif "Ref" in expr and target in params and value != params[target]:
            problems.append(f"{where} is {value!r}, not the parameter's value {params[target]!r}")
        elif "Ref" in expr and physical.get(target) and value != physical[target]:
            problems.append(f"{where} is {value!r}, not the physical id {physical[target]!r}")
        elif "Fn::GetAtt" in expr and expr["Fn::GetAtt"][1] == "Arn" and not value.startswith("arn:"):
            problems.append(f"{where} is {value!r}, not an ARN")
    return problems


def json_expr(expr: dict[str, Any]) -> str:
    return f"Ref {expr['Ref']}" if "Ref" in expr else f"GetAtt {'.'.join(expr['Fn::GetAtt'])}"


def parameter_values(template: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    """What CloudFormation uses for each plain parameter: the value given, else the default (SSM-typed
    parameters are left out: only CloudFormation resolves them)."""
    return {k: given.get(k, d.get("Default", "")) for k, d in template.get("Parameters", {}).items()
            if not d["Type"].startswith("AWS::SSM::")}


def nested_parameter_values(stack_resource: dict[str, Any], params: dict[str, str]) -> dict[str, str]:
    """The values a nested stack (AWS::CloudFormation::Stack) gets for its parameters that are the root's
    parameters (Ref), and the pseudo parameters (same region, partition and account); references to
    resources are left out (only CloudFormation knows them)."""
    given = stack_resource.get("Properties", {}).get("Parameters", {})
    pseudo = {k: v for k, v in params.items() if k.startswith("AWS::")}
    return {**pseudo, **{k: params[v["Ref"]] for k, v in given.items()
                         if isinstance(v, dict) and isinstance(v.get("Ref"), str) and v["Ref"] in params}}


def created_resources(template: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
    """The resources CloudFormation creates with these parameter values: those without a Condition, and
    those whose Condition holds."""
    conditions = template.get("Conditions", {})
    return {lid: r for lid, r in template["Resources"].items()
            if "Condition" not in r or _value({"Condition": r["Condition"]}, params, conditions)}


# The shipped example's partner event source id (lib/config.ts EXAMPLE_SOURCE_ID): Auth0 never issues it.
PLACEHOLDER_SOURCE_ID = "-00000000-0000-0000-0000-000000000000/"


def is_placeholder_source(source: str) -> bool:
    """A partner event source no account can have: the example's all-zero id."""
    return PLACEHOLDER_SOURCE_ID in source


def partner_event_sources(template: dict[str, Any], params: dict[str, str] | None = None) -> list[str]:
    """The partner event sources the event buses CloudFormation creates (with these parameter values)
    associate (EventSourceName): they must exist before the stack is created. Only Auth0 creates them,
    when a stream to EventBridge is saved."""
    resources = created_resources(template, params or {})
    return sorted({r["Properties"]["EventSourceName"] for r in resources.values()
                   if r["Type"] == "AWS::Events::EventBus" and isinstance(r.get("Properties", {}).get("EventSourceName"), str)})
