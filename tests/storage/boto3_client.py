#!/usr/bin/python3
"""A third-party S3 client (Debian's python3-boto3) for hlsforge's cross-check tests.

  boto3_client.py ENDPOINT put BUCKET KEY FILE CONTENT_TYPE [CACHE_CONTROL]
  boto3_client.py ENDPOINT get BUCKET KEY        -> JSON {sha256, size, content_type, cache_control, etag}
  boto3_client.py ENDPOINT list BUCKET PREFIX    -> JSON [keys...] (all pages, 100 per page)
Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Exit 1 with the error on stderr.
"""
import hashlib
import json
import sys

import boto3
from botocore.config import Config


def main():
    endpoint, op = sys.argv[1], sys.argv[2]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      config=Config(s3={"addressing_style": "path"},
                                    retries={"max_attempts": 2}))
    if op == "put":
        bucket, key, path, ctype = sys.argv[3:7]
        extra = {"CacheControl": sys.argv[7]} if len(sys.argv) > 7 else {}
        with open(path, "rb") as f:
            s3.put_object(Bucket=bucket, Key=key, Body=f.read(), ContentType=ctype, **extra)
        print("{}")
    elif op == "get":
        bucket, key = sys.argv[3:5]
        r = s3.get_object(Bucket=bucket, Key=key)
        body = r["Body"].read()
        print(json.dumps({"sha256": hashlib.sha256(body).hexdigest(), "size": len(body),
                          "content_type": r.get("ContentType", ""),
                          "cache_control": r.get("CacheControl", ""),
                          "etag": r.get("ETag", "").strip('"')}))
    elif op == "list":
        bucket, prefix = sys.argv[3:5]
        keys = []
        for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": 100}):
            keys += [o["Key"] for o in page.get("Contents", [])]
        print(json.dumps(keys))
    else:
        sys.exit("unknown op " + op)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # reported to the C++ test as text
        print("%s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
