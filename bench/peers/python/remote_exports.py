"""The benchmark's Python peer: the original 2018 design of a remote-exports custom resource, as a
platform team would have written it then and many still run it. crhelper speaks the custom-resource
protocol, boto3 assumes the role and pages through ListExports. Written here for
`cargo xtask bench --cpu-share 128`; it is not part of the product.
"""

import boto3
from crhelper import CfnResource

helper = CfnResource(json_logging=False, log_level="INFO", boto_level="CRITICAL", sleep_on_delete=0)


@helper.create
@helper.update
def lookup(event, _context):
    properties = event["ResourceProperties"]
    role_arn = properties["RoleArn"]
    region = properties.get("Region") or boto3.session.Session().region_name
    credentials = boto3.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="remote-exports")["Credentials"]
    cloudformation = boto3.client(
        "cloudformation",
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    wanted = set(properties.get("ExportNames", []))
    for page in cloudformation.get_paginator("list_exports").paginate():
        for export in page["Exports"]:
            if not wanted or export["Name"] in wanted:
                helper.Data[export["Name"]] = export["Value"]
    missing = sorted(wanted - helper.Data.keys())
    if missing:
        raise ValueError(f"exports not found in {role_arn.split(':')[4]}/{region}: {', '.join(missing)}")
    return f"remote-exports:{role_arn.split(':')[4]}:{region}"


@helper.delete
def delete(_event, _context):
    pass


def handler(event, context):
    helper(event, context)
