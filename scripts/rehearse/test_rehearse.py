"""The rehearsal's own logic (no jest: `python3 -m unittest discover -s scripts/rehearse`), with
hand-written templates and expectations; two cases start moto_server to see the exit code."""
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from moto_gaps import patch_for_moto  # noqa: E402
from template_logic import failed_rule_assertions, is_placeholder_source, partner_event_sources, references  # noqa: E402

BOOTSTRAP_RULE = {"CheckBootstrapVersion": {"Assertions": [{
    "Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}]},
    "AssertDescription": "CDK bootstrap stack version 6 required."}]}}


class RulesTest(unittest.TestCase):
    def test_bootstrap_version_5_is_refused_and_6_accepted(self):
        t = {"Rules": BOOTSTRAP_RULE}
        self.assertEqual(failed_rule_assertions(t, {"BootstrapVersion": "5"}),
                         ["CheckBootstrapVersion: CDK bootstrap stack version 6 required."])
        self.assertEqual(failed_rule_assertions(t, {"BootstrapVersion": "6"}), [])
        self.assertEqual(failed_rule_assertions(t, {"BootstrapVersion": "30"}), [])

    def test_a_rule_on_a_missing_parameter_is_an_error_not_a_pass(self):
        with self.assertRaises(ValueError):
            failed_rule_assertions({"Rules": BOOTSTRAP_RULE}, {})


class PatchTest(unittest.TestCase):
    def template(self):
        return {"Resources": {
            "A": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmName": "pipeline-a"}},
            "B": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
            "D": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": {"Fn::Join": ["", [
                {"Fn::GetAtt": ["A", "Arn"]}, {"Fn::GetAtt": ["B", "Arn"]}, {"Fn::GetAtt": ["Q", "Arn"]}]]}}},
            "Q": {"Type": "AWS::SQS::Queue"},
            "M": {"Type": "AWS::ApiGateway::Method", "Properties": {"Integration": {"Type": "MOCK"}}},
            "L": {"Type": "AWS::ApiGateway::Method", "Properties": {"Integration": {
                "Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": "u"}}},
        }}

    def test_alarm_arns_are_built_and_other_getatts_kept(self):
        original = self.template()
        patched, applied = patch_for_moto(original)
        parts = patched["Resources"]["D"]["Properties"]["DashboardBody"]["Fn::Join"][1]
        self.assertEqual(parts[0]["Fn::Join"][1][-1], "pipeline-a")
        self.assertEqual(parts[1]["Fn::Join"][1][-1], "B")
        self.assertEqual(parts[2], {"Fn::GetAtt": ["Q", "Arn"]})
        self.assertEqual(original, self.template(), "the original template must not change")
        self.assertEqual([a["count"] for a in applied], [1, 2])

    def test_only_mock_integrations_get_a_method(self):
        patched, _ = patch_for_moto(self.template())
        self.assertEqual(patched["Resources"]["M"]["Properties"]["Integration"],
                         {"Type": "MOCK", "IntegrationHttpMethod": "POST", "Uri": ""})
        self.assertEqual(patched["Resources"]["L"], self.template()["Resources"]["L"])

    def test_references(self):
        frag = {"Fn::Join": ["", [{"Ref": "Api"}, {"Ref": "AWS::Region"}, {"Fn::GetAtt": ["Fn", "Arn"]},
                                  {"Fn::Sub": ["${Stage}/${x}/${AWS::AccountId}", {"x": {"Ref": "Key"}}]}]]}
        self.assertEqual(references(frag), {"Api", "Fn", "Stage", "Key"})


SOURCE = "aws.partner/auth0.com/acme-3f6b6c2e-8a51-4d2b-9c3e-2b7d1a9e4f10/auth0.logs"
ZERO = "aws.partner/auth0.com/acme-00000000-0000-0000-0000-000000000000/auth0.logs"


def example_template(conditioned: bool) -> dict:
    """What the example configuration synthesizes to, in small: the opt-in parameter, and the
    placeholder's bus (conditioned as lib/auth0-events-stack.ts does it, or not, as before issue 20)."""
    bus = {"Type": "AWS::Events::EventBus", "Properties": {"Name": ZERO, "EventSourceName": ZERO}}
    t = {"Parameters": {"ExampleConfiguration": {"Type": "String", "Default": "refuse", "AllowedValues": ["refuse", "deploy"]}},
         "Resources": {"Q": {"Type": "AWS::SQS::Queue"}, "Bus": bus}}
    if conditioned:
        t["Conditions"] = {"ExampleSourceBuses": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ExampleConfiguration"}, "deploy"]}]}}
        bus["Condition"] = "ExampleSourceBuses"
    return t


def partner_template() -> dict:
    return {"Resources": {
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": SOURCE, "EventSourceName": SOURCE}},
        "Custom": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "team-bus"}},
        "OnPartner": {"Type": "AWS::Events::Rule", "Properties": {"EventBusName": {"Ref": "Bus"}, "EventPattern": {"source": [SOURCE]}}},
        "OnPartnerByName": {"Type": "AWS::Events::Rule", "Properties": {"EventBusName": SOURCE}},
        "OnCustom": {"Type": "AWS::Events::Rule", "Properties": {"EventBusName": {"Ref": "Custom"}}},
        "OnDefault": {"Type": "AWS::Events::Rule", "Properties": {"ScheduleExpression": "rate(1 hour)"}},
    }}


class PartnerBusTest(unittest.TestCase):
    def test_only_rules_on_partner_buses_are_left_out_and_reported(self):
        patched, applied = patch_for_moto(partner_template())
        self.assertEqual(sorted(patched["Resources"]), ["Bus", "Custom", "OnCustom", "OnDefault"])
        self.assertEqual([(a["what"], a["count"]) for a in applied],
                         [("rules on partner event buses left out (SKIPPED, not proven on moto)", 2)])

    def test_a_reference_to_a_left_out_rule_is_an_error_not_a_silent_skip(self):
        t = partner_template()
        t["Resources"]["Alarm"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Dimensions": [{"Value": {"Ref": "OnPartner"}}]}}
        with self.assertRaises(ValueError):
            patch_for_moto(t)

    def test_the_partner_sources_auth0_must_create_first(self):
        self.assertEqual(partner_event_sources(partner_template()), [SOURCE])
        self.assertEqual(partner_event_sources({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}), [])

    def test_a_bus_whose_condition_is_false_with_the_given_parameters_needs_no_source(self):
        self.assertEqual(partner_event_sources(example_template(True), {"ExampleConfiguration": "deploy"}), [])
        self.assertEqual(partner_event_sources(example_template(True), {"ExampleConfiguration": "refuse"}), [ZERO])
        self.assertEqual(partner_event_sources(example_template(False), {"ExampleConfiguration": "deploy"}), [ZERO])

    def test_the_all_zero_id_is_a_source_no_account_can_have(self):
        self.assertTrue(is_placeholder_source(ZERO))
        self.assertFalse(is_placeholder_source(SOURCE))


def assembly(directory: Path, resources: dict) -> None:
    """A cloud assembly of one stack: `resources`, or a whole template when it has "Resources"."""
    (directory / "S.template.json").write_text(json.dumps(resources if "Resources" in resources else {"Resources": resources}))
    (directory / "S.assets.json").write_text(json.dumps({"version": "55.0.0", "files": {}}))
    (directory / "manifest.json").write_text(json.dumps({"artifacts": {
        "S.assets": {"type": "cdk:asset-manifest", "properties": {"file": "S.assets.json"}},
        "S": {"type": "aws:cloudformation:stack", "dependencies": ["S.assets"], "properties": {
            "templateFile": "S.template.json",
            "stackTemplateAssetObjectUrl": "s3://cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}/x.json"}}}}))


class NestedStackTest(unittest.TestCase):
    def test_only_getatts_of_nested_stack_outputs_become_literals(self):
        template = {"Resources": {
            "Group": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "https://x"}},
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {
                "KEYS": {"Fn::Join": ["", ["{\"acme\":\"", {"Fn::GetAtt": ["Group", "Outputs.KeyRef"]}, "\"}"]]},
                "QUEUE": {"Fn::GetAtt": ["Queue", "Arn"]},
                "STACK": {"Fn::GetAtt": ["Group", "Arn"]},
            }}}},
        }}
        patched, applied = patch_for_moto(template)
        env = patched["Resources"]["Fn"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(env["KEYS"], {"Fn::Join": ["", ["{\"acme\":\"", "moto-nested-output-KeyRef", "\"}"]]})
        self.assertEqual(env["QUEUE"], {"Fn::GetAtt": ["Queue", "Arn"]})
        self.assertEqual(env["STACK"], {"Fn::GetAtt": ["Group", "Arn"]})
        self.assertEqual([a["count"] for a in applied if "nested stack" in a["what"]], [1])
        # The template itself is untouched (the published asset stays as synthesized).
        self.assertIn("Fn::GetAtt", json.dumps(template["Resources"]["Fn"]["Properties"]["Environment"]["Variables"]["KEYS"]))


class UnmodelledArnTest(unittest.TestCase):
    def test_a_firehose_stream_arn_is_built_where_moto_creates_the_reader(self):
        template = {"Resources": {
            "Stream": {"Type": "AWS::KinesisFirehose::DeliveryStream", "Properties": {"DeliveryStreamType": "DirectPut"}},
            "Named": {"Type": "AWS::KinesisFirehose::DeliveryStream", "Properties": {"DeliveryStreamName": "archive"}},
            "Sub": {"Type": "AWS::SNS::Subscription", "Properties": {"Protocol": "firehose", "Endpoint": {"Fn::GetAtt": ["Stream", "Arn"]}}},
            "Policy": {"Type": "AWS::IAM::Policy", "Properties": {"Resource": [{"Fn::GetAtt": ["Named", "Arn"]}, {"Fn::GetAtt": ["Queue", "Arn"]}]}},
            "Queue": {"Type": "AWS::SQS::Queue"},
        }}
        patched, applied = patch_for_moto(template)
        arn = lambda name: {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":firehose:", {"Ref": "AWS::Region"}, ":",
                                             {"Ref": "AWS::AccountId"}, ":deliverystream/", name]]}
        self.assertEqual(patched["Resources"]["Sub"]["Properties"]["Endpoint"], arn("Stream"))
        self.assertEqual(patched["Resources"]["Policy"]["Properties"]["Resource"], [arn("archive"), {"Fn::GetAtt": ["Queue", "Arn"]}])
        self.assertEqual([a["count"] for a in applied if "Firehose" in a["what"]], [2])


class ExitCodeTest(unittest.TestCase):
    def run_on(self, resources: dict) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory() as d:
            assembly(Path(d), resources)
            return subprocess.run([sys.executable, "-W", "ignore", str(HERE / "rehearse.py"), "--out", d],
                                  capture_output=True, text=True, timeout=120)

    def test_a_stack_that_deploys_exits_0(self):
        r = self.run_on({"Q": {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 1209600}}})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"AWS::SQS::Queue\s+1\s+0\s+0\s+0")

    def test_a_reference_that_does_not_resolve_exits_1(self):
        r = self.run_on({"Q": {"Type": "AWS::SQS::Queue", "Properties": {
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["NoSuchQueue", "Arn"]}, "maxReceiveCount": 3}}}})
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("NOT PROVEN", r.stdout)

    def test_a_skipped_resource_whose_reference_does_not_resolve_exits_1(self):
        # moto never resolves a subscription's properties (it has no model for it): without the
        # rehearsal's probes this template would pass.
        r = self.run_on({"T": {"Type": "AWS::SNS::Topic"}, "S": {"Type": "AWS::SNS::Subscription", "Properties": {
            "Protocol": "sqs", "TopicArn": {"Ref": "T"}, "Endpoint": {"Fn::GetAtt": ["NoSuchQueue", "Arn"]}}}})
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("NOT PROVEN", r.stdout)

    def test_a_skipped_resource_whose_references_resolve_is_counted_not_created(self):
        r = self.run_on({"T": {"Type": "AWS::SNS::Topic"}, "Q": {"Type": "AWS::SQS::Queue"},
                         "S": {"Type": "AWS::SNS::Subscription", "Properties": {
                             "Protocol": "sqs", "TopicArn": {"Ref": "T"}, "Endpoint": {"Fn::GetAtt": ["Q", "Arn"]}}}})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("probed as outputs of the rehearsal's copy: 2 resolved, 0 not", r.stdout)
        self.assertRegex(r.stdout, r"AWS::SNS::Subscription\s+0\s+1\s+0\s+0")

    def test_a_partner_bus_deploys_once_its_source_exists_and_its_rule_is_reported_skipped(self):
        r = self.run_on({k: v for k, v in partner_template()["Resources"].items() if k in ("Bus", "OnPartner")})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"partner event source {SOURCE} created", r.stdout)
        self.assertRegex(r.stdout, r"AWS::Events::EventBus\s+1\s+0\s+0\s+0")
        self.assertIn("rules on partner event buses left out (SKIPPED, not proven on moto) (1 places)", r.stdout)

    def test_a_bus_for_a_source_no_account_can_have_exits_1_before_deploying(self):
        # As before issue 20: the example's placeholder bus, unconditioned. The rehearsal used to create
        # the source itself and pass; a customer's deploy failed every time.
        r = self.run_on(example_template(False))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"NOT creating partner event source {ZERO}", r.stdout)
        self.assertIn("need partner event sources that do not exist", r.stdout)

    def test_the_example_opt_in_deploys_without_the_placeholder_bus(self):
        r = self.run_on(example_template(True))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("partner event source", r.stdout)
        self.assertNotIn("AWS::Events::EventBus", r.stdout)
        self.assertRegex(r.stdout, r"AWS::SQS::Queue\s+1\s+0\s+0\s+0")


if __name__ == "__main__":
    unittest.main()
