"""`npm run rehearse`: deploy the synthesized stack (cdk.out) with CloudFormation on moto's server.

On loopback only: starts `moto_server` on 127.0.0.1 and a free port, bootstraps what `cdk deploy`
needs (the assets bucket, the bootstrap version parameter), publishes every file asset as the asset
manifest says, patches the rehearsal's copy of the template for moto's own gaps (listed at the end),
creates the stack through a change set from the template's S3 URL, as the CDK CLI does, and checks
with each service's own API which resources really exist. Exit 1 when the stack or a resource fails,
a reference or parameter does not resolve, or a resource moto claims to have made is not there.
"""
import argparse
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from botocore.exceptions import BotoCoreError, ClientError  # noqa: E402
from botocore.parsers import ResponseParserError  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from moto_gaps import patch_for_moto  # noqa: E402
from template_logic import (created_resources, failed_rule_assertions, is_placeholder_source, nested_parameter_values,  # noqa: E402
                            parameter_values,
                            partner_event_sources, probe_problems, reference_probes, skipped_dependencies)
from verify import CREATED, FAILED, NOT_CREATED, UNCHECKED, classify, moto_models  # noqa: E402

ACCOUNT, REGION, PARTITION = "123456789012", "us-east-1", "aws"  # moto's default account
DEADLINE_S = 180
MOTO_DEPLOY_GAP = {
    "what": "CreateStack instead of a CREATE change set",
    "why": "the CDK CLI deploys through a change set, but moto executes a change set without DependsOn order "
           "(its REST API Deployment is made before the Methods: \"The REST API doesn't contain any methods\")",
    "count": 1,
}


def log(msg: str) -> None:
    print(msg, flush=True)


@contextmanager
def moto_server(log_path: Path) -> Iterator[str]:
    """moto_server on 127.0.0.1 and a free port; stopped (its whole process group) on exit."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(log_path, "w") as out:
        proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {proc.returncode}; see {log_path}")
            try:
                urllib.request.urlopen(endpoint + "/moto-api/data.json", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"moto_server did not answer on {endpoint} in 30 s; see {log_path}")
        yield endpoint
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()


def moto_log() -> Path:
    return Path(os.environ.get("REHEARSE_MOTO_LOG", "/tmp/rehearse-moto.log"))


def subst(value: str) -> str:
    """The asset manifest's placeholders, as `cdk deploy` fills them."""
    return (value.replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", REGION)
            .replace("${AWS::Partition}", PARTITION))


def read_assembly(out: Path) -> list[dict[str, Any]]:
    """The stacks of the cloud assembly, each with its template, asset manifest and bootstrap needs."""
    manifest = json.loads((out / "manifest.json").read_text())
    artifacts = manifest["artifacts"]
    stacks = []
    for name, art in artifacts.items():
        if art["type"] != "aws:cloudformation:stack":
            continue
        props = art["properties"]
        asset_files = [artifacts[d]["properties"]["file"] for d in art.get("dependencies", [])
                       if artifacts.get(d, {}).get("type") == "cdk:asset-manifest"]
        stacks.append({"name": name, "template": out / props["templateFile"],
                       "assets": [out / f for f in asset_files],
                       "bootstrap_version": props.get("requiresBootstrapStackVersion"),
                       "bootstrap_parameter": props.get("bootstrapStackVersionSsmParameter"),
                       "template_url": subst(props["stackTemplateAssetObjectUrl"])})
    if not stacks:
        raise SystemExit(f"no stack in {out}/manifest.json: run `npm run synth` first")
    return stacks


def zip_directory(src: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            zf.write(path, path.relative_to(src).as_posix())
    return buf.getvalue()


def publish_assets(s3: Any, out: Path, asset_manifest: Path) -> int:
    """Every file asset to its destination: directories zipped (packaging `zip`), files as they are."""
    files = json.loads(asset_manifest.read_text()).get("files", {})
    if json.loads(asset_manifest.read_text()).get("dockerImages"):
        raise SystemExit("container image assets are not rehearsed (no Docker here)")
    count = 0
    for asset in files.values():
        src = out / asset["source"]["path"]
        packaging = asset["source"].get("packaging", "file")
        body = zip_directory(src) if packaging == "zip" else src.read_bytes()
        for dest in asset["destinations"].values():
            bucket = subst(dest["bucketName"])
            existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
            if bucket not in existing:
                raise SystemExit(f"asset bucket {bucket} is not the bootstrap bucket: the stack needs a custom bootstrap")
            s3.put_object(Bucket=bucket, Key=dest["objectKey"], Body=body)
            count += 1
    return count


# The shipped cdk.json is the example configuration, which the template refuses unless the deployer
# opts in (lib/auth0-events-stack.ts): the rehearsal deploys it with that documented opt-in.
EXAMPLE_OPT_IN = {"ExampleConfiguration": "deploy"}


def deploy(cf: Any, name: str, template_url: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """CreateStack from the template's S3 URL, then waited for. (`cdk deploy` executes a change set;
    moto's change-set execution ignores DependsOn, see MOTO_DEPLOY_GAP.)"""
    caps = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
    declared = (template or {}).get("Parameters", {})
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in EXAMPLE_OPT_IN.items() if k in declared]
    for p in params:
        log(f"  passing {p['ParameterKey']}={p['ParameterValue']} (the example configuration's documented opt-in)")
    cf.create_stack(StackName=name, TemplateURL=template_url, Capabilities=caps, Parameters=params)
    started = time.time()
    while True:
        stack = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        if time.time() - started > DEADLINE_S:
            raise SystemExit(f"stack {name} still {stack['StackStatus']} after {DEADLINE_S} s")
        time.sleep(0.5)


def check_outputs(stack: dict[str, Any], template: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(problems, unprovable): an output with no value or an unresolved intrinsic is a problem; one
    that names a resource moto skips shows "None" there and is only listed."""
    problems, unprovable = [], []
    values = {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", [])}
    skipped_types = {r["Type"] for r in template["Resources"].values()} - moto_models()
    for key, output in template.get("Outputs", {}).items():
        value, skipped = values.get(key), skipped_dependencies(output["Value"], template, skipped_types)
        if skipped:
            unprovable.append(f"{key} (names {', '.join(sorted(skipped))}, which moto skips): {value}")
        elif value is None or "None" in value or re.search(r"Fn::|'Ref'|\"Ref\"", value) \
                or value in template["Resources"]:
            problems.append(f"output {key} did not resolve: {value!r}")
    return problems, unprovable


def check_parameters(stack: dict[str, Any], template: dict[str, Any], ssm: Any) -> tuple[list[str], dict[str, str]]:
    """Every parameter has a value; an SSM-typed one resolved to the parameter store's value; Rules hold."""
    problems, values = [], {}
    given = {p["ParameterKey"]: p for p in stack.get("Parameters", [])}
    for key, decl in template.get("Parameters", {}).items():
        p = given.get(key)
        if p is None:
            problems.append(f"parameter {key}: no value")
            continue
        value = p.get("ResolvedValue", p["ParameterValue"])
        if decl["Type"].startswith("AWS::SSM::Parameter::"):
            stored = ssm.get_parameter(Name=decl.get("Default", ""))["Parameter"]["Value"]
            if value != stored:
                problems.append(f"parameter {key}: {value!r}, not the value of SSM {decl.get('Default')} ({stored!r})")
        log(f"  parameter {key} ({decl['Type']}) = {value}")
        values[key] = value
    failed = failed_rule_assertions(template, values)
    problems += [f"rule {f}" for f in failed]
    log(f"  rules: {len(template.get('Rules', {}))} evaluated by the rehearsal (moto ignores Rules), {len(failed)} failed")
    return problems, values


def rehearse(out: Path, boto3: Any) -> int:
    failures: list[str] = []
    started = time.time()
    with moto_server(moto_log()) as endpoint:
        log(f"moto_server on {endpoint} (loopback only)")
        from botocore.config import Config  # noqa: PLC0415
        config = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60)
        client = lambda svc: boto3.client(svc, endpoint_url=endpoint, region_name=REGION,  # noqa: E731
                                          aws_access_key_id="rehearsal", aws_secret_access_key="rehearsal",
                                          config=config)
        for st in read_assembly(out):
            failures += rehearse_stack(st, out, client)
    elapsed = time.time() - started
    log(f"\nrehearsal took {elapsed:.1f} s; moto stopped")
    if failures:
        log("NOT PROVEN:\n  " + "\n  ".join(failures))
        return 1
    log("PROVEN on moto: the stack deploys; every parameter, rule and output, and every reference to a resource moto\n"
        "creates (made by any resource, skipped ones included), resolved. Resources moto skips are not created, and\n"
        "references between them are proven by cfn-lint only.")
    return 0


def nested_templates(template: dict[str, Any], out: Path) -> dict[str, dict[str, Any]]:
    """Each nested stack's template (AWS::CloudFormation::Stack), by its logical id, from the file
    the CDK names in the resource's `aws:asset:path` metadata."""
    found = {}
    for lid, r in template["Resources"].items():
        if r["Type"] != "AWS::CloudFormation::Stack":
            continue
        path = r.get("Metadata", {}).get("aws:asset:path")
        if not path:
            raise SystemExit(f"nested stack {lid} names no template file (aws:asset:path): synthesize with `cdk synth`")
        found[lid] = json.loads((out / path).read_text())
    return found


def rehearse_stack(st: dict[str, Any], out: Path, client: Any) -> list[str]:
    s3, ssm, cf = client("s3"), client("ssm"), client("cloudformation")
    name, failures = st["name"], []
    template = json.loads(st["template"].read_text())
    # Bootstrap: the assets bucket and the version parameter at the lowest version the stack accepts.
    bucket = f"cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    if st["bootstrap_parameter"]:
        ssm.put_parameter(Name=st["bootstrap_parameter"], Value=str(st["bootstrap_version"]),
                          Type="String", Overwrite=True)
    published = sum(publish_assets(s3, out, m) for m in st["assets"])
    # Auth0's part, which precedes the deploy (docs/deploy.md, and docs/auth0-setup.md "Auth0 through Amazon EventBridge"):
    # saving a stream to EventBridge creates its partner event source in the account, pending until a
    # bus is associated. Only Auth0 can create one, so the rehearsal plays that part only for a source a
    # customer could have: never for the example's all-zero placeholder, which exists in no account.
    # Then, as CloudFormation would, it needs every source the deployed buses name to exist.
    declared = template.get("Parameters", {})
    params = {**parameter_values(template, {k: v for k, v in EXAMPLE_OPT_IN.items() if k in declared}),
              "AWS::Region": REGION, "AWS::Partition": PARTITION, "AWS::AccountId": ACCOUNT}
    # Nested stacks (the tenants' groups, lib/tenant-groups.ts) hold the buses: their templates are file
    # assets, published above; each is read with the values its parameters get from the root's.
    nested = nested_templates(template, out)
    root_created = created_resources(template, params)
    needed_set = set(partner_event_sources(template, params))
    for lid, nested_template in nested.items():
        if lid in root_created:
            needed_set |= set(partner_event_sources(nested_template, nested_parameter_values(template["Resources"][lid], params)))
    needed = sorted(needed_set)
    events = client("events")
    for source in needed:
        if is_placeholder_source(source):
            log(f"{name}: NOT creating partner event source {source}: the example's placeholder id, which no "
                f"account can have (only Auth0 creates partner event sources)")
        else:
            events.create_partner_event_source(Name=source, Account=ACCOUNT)
            log(f"{name}: partner event source {source} created, as Auth0 does when the stream is saved")
    missing = []
    for source in needed:
        try:
            state = events.describe_event_source(Name=source).get("State")
            log(f"{name}: partner event source {source} exists ({state})")
        except ClientError:
            missing.append(source)
    if missing:
        for source in missing:
            log(f"{name}: the template needs partner event source {source}, which does not exist in the account")
        return [f"{name}: the template's event buses need partner event sources that do not exist (a customer's "
                f"deploy fails with \"Event source ... does not exist\" and rolls back): {', '.join(missing)}"]
    log(f"{name}: bootstrap version parameter {st['bootstrap_parameter']} = {st['bootstrap_version']}, "
        f"{published} assets published to s3://{bucket}")
    patched, patches = patch_for_moto(template)
    for lid, nested_template in nested.items():
        nested_patched, nested_patches = patch_for_moto(nested_template)
        nested_key = f"rehearsal/{name}/{lid}.template.json"
        s3.put_object(Bucket=bucket, Key=nested_key, Body=json.dumps(nested_patched).encode())
        patched["Resources"][lid]["Properties"]["TemplateURL"] = f"https://s3.{REGION}.amazonaws.com/{bucket}/{nested_key}"
        for p in nested_patches:
            p = {**p, "what": f"{p['what']} (nested stack {lid})"}
            patches.append(p)
    if nested:
        log(f"{name}: {len(nested)} nested stacks, each deployed from its patched copy")
        # moto drops a nested stack parameter whose value is a resource it does not model (the REST
        # API stage): "Missing parameter" in CreateStack. Such values are passed as literals.
        unmodeled = {lid for lid, r in template["Resources"].items() if r["Type"] not in moto_models()}
        literal = 0
        for lid in nested:
            given = patched["Resources"][lid]["Properties"].get("Parameters", {})
            for k, v in given.items():
                target = v.get("Ref") if isinstance(v, dict) else None
                target = target or (v.get("Fn::GetAtt", [None])[0] if isinstance(v, dict) else None)
                if target in unmodeled:
                    given[k] = f"moto-unmodeled-{target}"
                    literal += 1
        if literal:
            patches.append({"what": "nested stack parameters from resources moto does not model passed as literals",
                            "why": "moto leaves such a parameter out (Missing parameter in CreateStack)", "count": literal})
    skipped_types = {r["Type"] for r in template["Resources"].values()} - moto_models()
    # What CloudFormation creates with these parameters (resources whose Condition is false are not made).
    effective = {**patched, "Resources": created_resources(patched, params)}
    left_out = sorted(set(patched["Resources"]) - set(effective["Resources"]))
    if left_out:
        log(f"{name}: left out by their Condition: {', '.join(left_out)}")
    probe_outputs, probes = reference_probes(effective, skipped_types)
    deployed = {**patched, "Outputs": {**patched.get("Outputs", {}), **probe_outputs}}
    # The template asset stays as published; the rehearsal deploys its patched copy next to it.
    key = f"rehearsal/{name}.template.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(deployed).encode())
    try:
        stack = deploy(cf, name, f"https://s3.{REGION}.amazonaws.com/{bucket}/{key}", template)
    except (ClientError, BotoCoreError, ResponseParserError) as e:
        # moto answers some broken references with an HTTP 500 instead of a ValidationError.
        log(f"{name}: CloudFormation refused the template: {str(e)[:300]} (moto's log: {moto_log()})")
        return [f"{name}: the stack was not created: {str(e)[:300]}"]
    status = stack["StackStatus"]
    log(f"{name}: {status}{' (' + stack['StackStatusReason'] + ')' if stack.get('StackStatusReason') else ''}")
    if status != "CREATE_COMPLETE":
        failures.append(f"{name}: {status}")
    problems, params = check_parameters(stack, template, ssm)
    failures += [f"{name}: {p}" for p in problems]
    problems, unprovable = check_outputs(stack, patched)
    failures += [f"{name}: {p}" for p in problems]
    log(f"  outputs: {len(patched.get('Outputs', {}))}, {len(problems)} unresolved, "
        f"{len(unprovable)} not provable on moto:")
    for u in unprovable:
        log(f"    {u}")
    values = {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", [])}
    physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
                for page in cf.get_paginator("list_stack_resources").paginate(StackName=name)
                for r in page["StackResourceSummaries"] if r.get("LogicalResourceId")}
    problems = probe_problems(probes, values, physical, params)
    failures += [f"{name}: reference {p}" for p in problems]
    log(f"  references made by resources moto skips: {len(probes['checks'])} distinct ones to resources it creates\n"
        f"  or to parameters, probed as outputs of the rehearsal's copy: {len(probes['checks']) - len(problems)} "
        f"resolved, {len(problems)} not; {probes['unprobeable']} between skipped resources, not provable on moto")
    failures += report(name, cf, client, effective, [MOTO_DEPLOY_GAP, *patches])
    return failures


def report(name: str, cf: Any, client: Any, template: dict[str, Any], patches: list[dict[str, Any]]) -> list[str]:
    summaries = []
    for page in cf.get_paginator("list_stack_resources").paginate(StackName=name):
        summaries += page["StackResourceSummaries"]
    reasons = {e["LogicalResourceId"]: e.get("ResourceStatusReason", "")
               for e in cf.describe_stack_events(StackName=name)["StackEvents"] if "FAILED" in e["ResourceStatus"]}
    results = classify(summaries, template, client, reasons)
    by_type: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        by_type[r["type"]][r["outcome"]] += 1
    totals = Counter(r["outcome"] for r in results)
    in_template = len(template["Resources"])
    log(f"\n{name}: {in_template} resources in the template, {len(results)} listed by CloudFormation")
    log(f"  {'type':45} {'created':>8} {'not created':>12} {'failed':>7} {'unchecked':>10}")
    for ty in sorted(by_type):
        c = by_type[ty]
        log(f"  {ty:45} {c[CREATED]:>8} {c[NOT_CREATED]:>12} {c[FAILED]:>7} {c[UNCHECKED]:>10}")
    log(f"  {'total':45} {totals[CREATED]:>8} {totals[NOT_CREATED]:>12} {totals[FAILED]:>7} {totals[UNCHECKED]:>10}")
    log("  created: found with the service's own API; not created: marked CREATE_COMPLETE by moto, which has no\n"
        "  CloudFormation model for the type; failed: CREATE_FAILED, or claimed created and not found")
    for r in results:
        if r["outcome"] == FAILED:
            log(f"  FAILED {r['type']} {r['logical_id']}: {r['detail']}")
    log(f"\nmoto's gaps worked around in the rehearsal's copy of the template ({len(patches)}):")
    for p in patches:
        log(f"  - {p['what']} ({p['count']} places): {p['why']}")
    failures = [f"{name}: {r['type']} {r['logical_id']} {r['detail']}" for r in results if r["outcome"] == FAILED]
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="cdk.out", help="the cloud assembly (default cdk.out)")
    args = parser.parse_args()
    try:
        import boto3  # noqa: PLC0415
    except ImportError:
        print("boto3 is not installed: pip install 'moto[server]' boto3", file=sys.stderr)
        return 2
    if not shutil.which("moto_server"):
        print("moto_server is not installed: pip install 'moto[server]' boto3 (no Debian package)", file=sys.stderr)
        return 2
    return rehearse(Path(args.out), boto3)


if __name__ == "__main__":
    sys.exit(main())
