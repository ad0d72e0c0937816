"""S3's GetBucketEncryption as AWS answers it, where moto 5.2.5 drops part of the rule.

moto stores the whole ``ServerSideEncryptionRule`` that PutBucketEncryption sends, but its GetBucketEncryption
returns only ``ApplyServerSideEncryptionByDefault`` and ``BucketKeyEnabled``: ``BlockedEncryptionTypes`` (part
of the rule since April 2026) is lost, so every bucket would look as if it allowed SSE-C uploads.
``returns_blocked_encryption_types`` makes moto's answer carry it, exactly as stored; nothing else changes.
(moto creates buckets without any configuration, where AWS gives them SSE-S3 and blocks SSE-C: in the embedded
AWS the part ``sandbox/aws/s3_defaults.py`` gives them that rule.)
Installed once per process; in-process ``mock_aws`` and the threaded moto server share it.
"""

from __future__ import annotations

import threading
from typing import Any

_LOCK = threading.Lock()
_INSTALLED: list[bool] = []


def returns_blocked_encryption_types() -> None:
    from moto.core.responses import ActionResult
    from moto.core.utils import ensure_boolean
    from moto.s3.exceptions import ServerSideEncryptionConfigurationNotFoundError
    from moto.s3.responses import S3Response

    with _LOCK:
        if _INSTALLED:
            return

        def get_bucket_encryption(self: Any) -> Any:
            self.data["Action"] = "GetBucketEncryption"
            encryption = self.backend.get_bucket_encryption(self.bucket_name)
            if not encryption:
                raise ServerSideEncryptionConfigurationNotFoundError(bucket_name=self.bucket_name)
            rule = encryption["Rule"]
            result: dict[str, Any] = {
                "ApplyServerSideEncryptionByDefault": rule["ApplyServerSideEncryptionByDefault"],
                "BucketKeyEnabled": ensure_boolean(rule.get("BucketKeyEnabled")),
            }
            types = (rule.get("BlockedEncryptionTypes") or {}).get("EncryptionType")
            if types:  # the request's XML, parsed by xmltodict: one value is a string, several a list
                result["BlockedEncryptionTypes"] = {"EncryptionType": [types] if isinstance(types, str) else types}
            return self.serialized(ActionResult({"ServerSideEncryptionConfiguration": {"Rules": [result]}}))

        S3Response.get_bucket_encryption = get_bucket_encryption  # type: ignore[method-assign]
        _INSTALLED.append(True)
