"""Which resources moto really created: each one looked up with its service's own API.

A checker returns None when the resource exists, or what is missing. A type without a checker here is
one moto's CloudFormation does not model: moto marks it CREATE_COMPLETE and creates nothing (checked
against moto's own model list, so a moto upgrade that starts modelling a type shows up as a failure
to update this table, not as a silent pass).
"""
import json
from typing import Any, Callable, Optional

CREATED, NOT_CREATED, FAILED, UNCHECKED = "created", "not created", "failed", "unchecked"

Checker = Callable[["Ctx", str, dict[str, Any]], Optional[str]]


class Ctx:
    """What a checker needs: the service clients and the stack's logical -> physical ids."""

    def __init__(self, client: Any, physical: dict[str, str]):
        self.client, self.physical = client, physical

    def __call__(self, service: str) -> Any:
        return self.client(service)

    def ref(self, value: Any) -> Any:
        """A Ref or Fn::GetAtt <x>.Arn/.Id of the template, as the physical id moto gave <x>."""
        if isinstance(value, dict) and "Ref" in value:
            return self.physical.get(value["Ref"], value["Ref"])
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return self.physical.get(value["Fn::GetAtt"][0], value["Fn::GetAtt"][0])
        return value


def _props(res: dict[str, Any]) -> dict[str, Any]:
    return res.get("Properties", {})


def _queue(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    client("sqs").get_queue_attributes(QueueUrl=pid, AttributeNames=["QueueArn"])
    return None


def _topic(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    client("sns").get_topic_attributes(TopicArn=pid)
    return None


def _key(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    # Not DescribeKey: moto stores a CloudFormation key's policy as an object and DescribeKey then
    # fails on it (HTTP 500, json.loads of a dict). ListKeys and GetKeyRotationStatus do not read it.
    kms = client("kms")
    ids = {k["KeyId"] for page in kms.get_paginator("list_keys").paginate() for k in page["Keys"]}
    if pid not in ids:
        return "no such key"
    if _props(res).get("EnableKeyRotation") and not kms.get_key_rotation_status(KeyId=pid)["KeyRotationEnabled"]:
        return "key rotation is off"
    return None


def _table(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    client("dynamodb").describe_table(TableName=pid)
    return None


def _role(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    client("iam").get_role(RoleName=pid)
    return None


def _inline_policy(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    # Every role the policy names must hold it, with at least one statement.
    iam, name = client("iam"), _props(res)["PolicyName"]
    for role in _props(res).get("Roles", []):
        role_name = client.ref(role)
        doc = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        if not (doc if isinstance(doc, dict) else json.loads(doc)).get("Statement"):
            return f"inline policy {name} on {role_name} has no statement"
    return None


def _function(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    cfg = client("lambda").get_function(FunctionName=pid)["Configuration"]
    if cfg.get("CodeSize", 0) <= 0:
        return "no code"
    return None


def _permission(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    # moto gives a permission no physical id: look for its statement in the function's policy.
    fn = client.ref(_props(res)["FunctionName"])
    statements = json.loads(client("lambda").get_policy(FunctionName=fn)["Policy"])["Statement"]
    principal = _props(res)["Principal"]
    found = [st for st in statements if st.get("Principal", {}).get("Service") == principal
             and st.get("Action") == _props(res)["Action"]]
    return None if found else f"no {principal} statement in {fn}'s resource policy"


def _mapping(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    client("lambda").get_event_source_mapping(UUID=pid)
    return None


def _log_group(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    groups = client("logs").describe_log_groups(logGroupNamePrefix=pid)["logGroups"]
    match = [g for g in groups if g["logGroupName"] == pid]
    if not match:
        return "no log group"
    wanted = _props(res).get("RetentionInDays")
    if wanted and match[0].get("retentionInDays") != wanted:
        return f"retention {match[0].get('retentionInDays')} instead of {wanted}"
    return None


def _rest_api(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    client("apigateway").get_rest_api(restApiId=pid)
    return None


def _rest_resource(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    apigw = client("apigateway")
    for api in apigw.get_rest_apis()["items"]:
        if any(r["id"] == pid for r in apigw.get_resources(restApiId=api["id"], limit=500)["items"]):
            return None
    return "no such resource in any REST API"


def _rest_method(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    apigw, verb = client("apigateway"), _props(res)["HttpMethod"]
    api, resource = client.ref(_props(res)["RestApiId"]), client.ref(_props(res)["ResourceId"])
    method = apigw.get_method(restApiId=api, resourceId=resource, httpMethod=verb)
    return None if method.get("methodIntegration") else f"{verb} on {resource} has no integration"


def _deployment(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    # moto gives a deployment no physical id: the REST API it names must have one.
    api = client.ref(_props(res)["RestApiId"])
    return None if client("apigateway").get_deployments(restApiId=api)["items"] else f"REST API {api} has no deployment"


def _dashboard(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    body = client("cloudwatch").get_dashboard(DashboardName=pid)["DashboardBody"]
    return None if body.startswith("{") else "dashboard body is not JSON"


def _event_bus(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    name = _props(res).get("Name", pid)
    bus = client("events").describe_event_bus(Name=name)
    return None if bus.get("Name") == name else f"no event bus {name}"


def _event_rule(client: "Ctx", pid: str, res: dict[str, Any]) -> Optional[str]:
    # The rule on its bus, with every target of the template, each with its DLQ and retry policy.
    events, props = client("events"), _props(res)
    bus = client.ref(props.get("EventBusName", "default"))
    bus = bus.rsplit("event-bus/", 1)[-1]
    name = props.get("Name") or pid.rsplit("/", 1)[-1]
    events.describe_rule(Name=name, EventBusName=bus)
    targets = events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
    if len(targets) != len(props.get("Targets", [])):
        return f"{len(targets)} targets instead of {len(props.get('Targets', []))}"
    for want, got in zip(props.get("Targets", []), targets):
        for key in ("DeadLetterConfig", "RetryPolicy"):
            if key in want and key not in got:
                return f"target {got.get('Id')} has no {key}"
    return None


CHECKERS: dict[str, Checker] = {
    "AWS::Events::EventBus": _event_bus,
    "AWS::Events::Rule": _event_rule,
    "AWS::SQS::Queue": _queue,
    "AWS::SNS::Topic": _topic,
    "AWS::KMS::Key": _key,
    "AWS::DynamoDB::Table": _table,
    "AWS::IAM::Role": _role,
    "AWS::IAM::Policy": _inline_policy,
    "AWS::Lambda::Function": _function,
    "AWS::Lambda::Permission": _permission,
    "AWS::Lambda::EventSourceMapping": _mapping,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::ApiGateway::RestApi": _rest_api,
    "AWS::ApiGateway::Resource": _rest_resource,
    "AWS::ApiGateway::Method": _rest_method,
    "AWS::ApiGateway::Deployment": _deployment,
    "AWS::CloudWatch::Dashboard": _dashboard,
}


def moto_models() -> set[str]:
    """The resource types moto's CloudFormation creates (the rest it marks complete and skips)."""
    from moto.cloudformation.parsing import get_model_map  # noqa: PLC0415
    return set(get_model_map())


def classify(summaries: list[dict[str, Any]], template: dict[str, Any], client: Any,
             reasons: dict[str, str]) -> list[dict[str, Any]]:
    modelled = moto_models()
    # moto lists a resource it skipped with an empty logical id and type: those are matched to the
    # template's resources that are not listed by name.
    named = [s for s in summaries if s.get("LogicalResourceId")]
    ctx = Ctx(client, {s["LogicalResourceId"]: s.get("PhysicalResourceId", "") for s in named})
    results = []
    for s in named:
        lid, pid = s["LogicalResourceId"], s.get("PhysicalResourceId", "")
        ty = template["Resources"].get(lid, {}).get("Type") or s["ResourceType"]
        row = {"type": ty, "logical_id": lid, "physical_id": pid, "detail": ""}
        if "FAILED" in s["ResourceStatus"]:
            row.update(outcome=FAILED, detail=reasons.get(lid) or s["ResourceStatus"])
        elif ty in CHECKERS:
            try:
                problem = CHECKERS[ty](ctx, pid, template["Resources"][lid])
            except Exception as e:  # noqa: BLE001 - any API error means the resource is not there
                problem = f"{type(e).__name__}: {e}"
            row.update(outcome=FAILED if problem else CREATED, detail=problem or "")
        else:
            row.update(outcome=UNCHECKED, detail="moto models this type; the rehearsal has no checker for it yet")
        results.append(row)
    listed = {s["LogicalResourceId"] for s in named}
    unnamed = len(summaries) - len(named)
    for lid, res in template["Resources"].items():
        if lid in listed:
            continue
        row = {"type": res["Type"], "logical_id": lid, "physical_id": ""}
        if res["Type"] in modelled:
            row.update(outcome=FAILED, detail="moto models this type but the stack does not list it")
        elif unnamed > 0:
            unnamed -= 1
            row.update(outcome=NOT_CREATED, detail="marked CREATE_COMPLETE; moto has no CloudFormation model for it")
        else:
            row.update(outcome=FAILED, detail="not in the stack")
        results.append(row)
    return results
