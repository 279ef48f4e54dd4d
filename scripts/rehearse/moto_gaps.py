"""moto's own gaps, worked around in the rehearsal's copy of the template only (never in lib/).

Each patch returns how many places it changed; the rehearsal prints every patch with its reason.
"""
import copy
import json
from typing import Any, Callable

ALARM_TYPES = {"AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"}


def _mock_integration_method(template: dict[str, Any]) -> int:
    """moto's AWS::ApiGateway::Method reads Integration.IntegrationHttpMethod and Integration.Uri
    unconditionally (KeyError, HTTP 500 on CreateStack). A MOCK integration has neither in AWS."""
    changed = 0
    for res in template["Resources"].values():
        if res["Type"] != "AWS::ApiGateway::Method":
            continue
        integration = res.get("Properties", {}).get("Integration", {})
        if integration.get("Type") == "MOCK" and ("IntegrationHttpMethod" not in integration or "Uri" not in integration):
            integration.setdefault("IntegrationHttpMethod", "POST")
            integration.setdefault("Uri", "")
            changed += 1
    return changed


# Fn::GetAtt <x>.Arn of types moto has no CloudFormation model for (it skips the resource, so the
# reference fails: "references undefined resource"): the ARN CloudFormation returns, as
# (service, resource part before the name, the property that names the resource; else the logical id).
# Formats: AWS docs, "Actions, resources, and condition keys" of CloudWatch and of Amazon Data Firehose.
ALARM_ARN = ("cloudwatch", "alarm:", "AlarmName")
UNMODELLED_ARNS = {
    "AWS::CloudWatch::Alarm": ALARM_ARN,
    "AWS::CloudWatch::CompositeAlarm": ALARM_ARN,
    "AWS::KinesisFirehose::DeliveryStream": ("firehose", "deliverystream/", "DeliveryStreamName"),
}


def _getatt_arn_patch(types: set[str]) -> Callable[[dict[str, Any]], int]:
    """A patch that replaces every Fn::GetAtt <x>.Arn of a resource of `types` by the ARN
    CloudFormation returns, built from x's name property expression
    when it has one (so that expression must still resolve), else from its logical id."""

    def patch(template: dict[str, Any]) -> int:
        resources = template["Resources"]
        changed = 0

        def arn(logical_id: str) -> dict[str, Any]:
            service, prefix, name_prop = UNMODELLED_ARNS[resources[logical_id]["Type"]]
            name = resources[logical_id].get("Properties", {}).get(name_prop, logical_id)
            return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":{service}:", {"Ref": "AWS::Region"}, ":",
                                      {"Ref": "AWS::AccountId"}, f":{prefix}", copy.deepcopy(name)]]}

        def walk(node: Any) -> Any:
            nonlocal changed
            if isinstance(node, dict):
                target = node.get("Fn::GetAtt")
                if (len(node) == 1 and isinstance(target, list) and len(target) == 2 and target[1] == "Arn"
                        and resources.get(target[0], {}).get("Type") in types):
                    changed += 1
                    return arn(target[0])
                return {k: walk(v) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v) for v in node]
            return node

        for logical_id, res in resources.items():
            resources[logical_id] = walk(res)
        for key in ("Outputs", "Conditions"):
            if key in template:
                template[key] = walk(template[key])
        return changed

    return patch


_alarm_arn_getatt = _getatt_arn_patch(ALARM_TYPES)
_alarm_arn_getatt.__doc__ = """moto has no CloudFormation model for CloudWatch alarms (it skips them), so a Fn::GetAtt on an
    alarm's Arn fails ("references undefined resource"). Replaced by the ARN CloudFormation returns,
    built from the alarm's own AlarmName expression when it has one (so that expression must still
    resolve), else from its logical id."""

_firehose_arn_getatt = _getatt_arn_patch({"AWS::KinesisFirehose::DeliveryStream"})
_firehose_arn_getatt.__doc__ = """moto has no CloudFormation model for some types (AWS::KinesisFirehose::DeliveryStream: it skips
    the resource), so a resource moto does create that reads such a resource's Arn (the archive's SNS
    subscription and its role's policy) fails ("references undefined resource"). Replaced by the ARN
    CloudFormation returns, built from the resource's name property when set, else its logical id. The
    stream itself is proven by test/event-archive.test.ts and cfn-lint only."""


def _partner_bus_rules(template: dict[str, Any]) -> int:
    """moto cannot put a rule on a partner event bus: its PutRule keeps only the part of the bus name
    after the last "/" ("Event bus auth0.logs does not exist"; a partner bus is named as its source,
    aws.partner/auth0.com/<tenant>-<id>/auth0.logs), and its Ref to an AWS::Events::EventBus is the
    model object, not the name (AttributeError in CreateStack). These rules are left out of the
    rehearsal's copy (the buses, queues and policies stay); their pattern, target, DLQ and retry policy
    are proven by test/eventbridge-front-door.test.ts and cfn-lint only. Nothing may reference them."""
    resources = template["Resources"]
    partner_buses = {lid for lid, r in resources.items()
                     if r["Type"] == "AWS::Events::EventBus" and r.get("Properties", {}).get("EventSourceName")}
    names = {resources[b]["Properties"].get("Name", resources[b]["Properties"]["EventSourceName"]) for b in partner_buses}
    on_partner_bus = [*names, *({"Ref": b} for b in partner_buses)]
    dropped = [lid for lid, r in resources.items()
               if r["Type"] == "AWS::Events::Rule" and r.get("Properties", {}).get("EventBusName") in on_partner_bus]
    for lid in dropped:
        del resources[lid]
    text = json.dumps(template)
    for lid in dropped:
        if f'"{lid}"' in text:
            raise ValueError(f"{lid} (a rule on a partner event bus, left out for moto) is referenced elsewhere in the template")
    return len(dropped)


def _nested_stack_outputs(template: dict[str, Any]) -> int:
    """moto cannot read a nested stack's outputs: `Fn::GetAtt [<nested stack>, Outputs.<name>]` fails
    in CreateStack (its nested Stack model has no get_cfn_attribute: AttributeError, HTTP 500). Each is
    replaced by the literal `moto-nested-output-<name>`. The main stack reads the tenants' API key ids
    this way (lib/tenant-groups.ts); moto makes no API keys anyway (an unsupported type)."""
    nested = {lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::CloudFormation::Stack"}
    changed = 0

    def walk(v: Any) -> Any:
        nonlocal changed
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            att = v.get("Fn::GetAtt")
            if isinstance(att, list) and len(att) == 2 and att[0] in nested and str(att[1]).startswith("Outputs."):
                changed += 1
                return f"moto-nested-output-{att[1][len('Outputs.'):]}"
            return {k: walk(x) for k, x in v.items()}
        return v

    for key in ("Resources", "Outputs"):
        if key in template:
            template[key] = walk(template[key])
    return changed


PATCHES: list[tuple[str, Callable[[dict[str, Any]], int]]] = [
    ("MOCK integrations of REST methods get IntegrationHttpMethod POST and an empty Uri", _mock_integration_method),
    ("Fn::GetAtt <alarm>.Arn replaced by the ARN CloudFormation would return", _alarm_arn_getatt),
    ("rules on partner event buses left out (SKIPPED, not proven on moto)", _partner_bus_rules),
    ("Fn::GetAtt <nested stack>.Outputs.<name> replaced by a literal", _nested_stack_outputs),
    ("Fn::GetAtt <Firehose delivery stream>.Arn replaced by the ARN CloudFormation would return", _firehose_arn_getatt),
]


def patch_for_moto(template: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A patched deep copy of the template, and the patches applied: what, why, how many places."""
    patched = copy.deepcopy(template)
    applied = []
    for what, fn in PATCHES:
        count = fn(patched)
        if count:
            applied.append({"what": what, "why": (fn.__doc__ or "").strip().replace("\n    ", " "), "count": count})
    return patched, applied
