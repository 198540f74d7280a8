"""``oci://HOST[:PORT]/NAMESPACE`` -> where the registry lives and which repositories are ours."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..errors import UsageError

# A repository path component as the distribution spec defines it.
COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOST = re.compile(r"^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::\d{1,5})?$")
_LOCAL = ("localhost", "127.0.0.1", "[::1]")
_EXAMPLE = "oci://ghcr.io/acme/models (or oci://127.0.0.1:5000/models for a local registry)"


@dataclass(frozen=True)
class OciAddress:
    host: str  # with the port, as it goes in URLs and credential lookups
    namespace: str  # e.g. "acme/models"; a model lives in the repository NAMESPACE/NAME
    scheme: str  # "https", or "http" for local hosts, oci+http:// and MODELCI_REGISTRY_INSECURE=1

    @property
    def uri(self) -> str:
        prefix = "oci+http" if self.scheme == "http" and not self.is_local else "oci"
        return f"{prefix}://{self.host}/{self.namespace}"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def is_local(self) -> bool:
        return self.host.rsplit(":", 1)[0] in _LOCAL or self.host.startswith("[::1]")

    def repository(self, model: str) -> str:
        if not COMPONENT.match(model):
            raise UsageError(f"model name {model!r} cannot be an OCI repository name: use lower-case "
                             "letters and digits separated by single '-', e.g. churn-model.")
        return f"{self.namespace}/{model}"


def parse_oci_uri(uri: str) -> OciAddress:
    """Parse ``oci://`` or ``oci+http://``; raises UsageError (exit 2) naming the valid form."""
    scheme = "https"
    if uri.startswith("oci+http://"):
        rest, scheme = uri[len("oci+http://"):], "http"
    elif uri.startswith("oci://"):
        rest = uri[len("oci://"):]
    else:
        raise UsageError(f"{uri!r} is not an OCI registry URI; write it as {_EXAMPLE}.")
    host, _, namespace = rest.partition("/")
    namespace = namespace.strip("/")
    if not host or not _HOST.match(host):
        raise UsageError(f"registry URI {uri!r}: {host!r} is not a host[:port]; write it as {_EXAMPLE}.")
    if not namespace:
        raise UsageError(f"registry URI {uri!r} names no namespace (the repositories models go under); "
                         f"write it as {_EXAMPLE}.")
    bad = [part for part in namespace.split("/") if not COMPONENT.match(part)]
    if bad:
        raise UsageError(
            f"registry URI {uri!r}: namespace part {bad[0]!r} is not a valid OCI repository name "
            f"(lower-case letters and digits, separated by '.', '_', '__' or '-'); write it as {_EXAMPLE}."
        )
    address = OciAddress(host=host, namespace=namespace, scheme=scheme)
    if address.is_local or os.environ.get("MODELCI_REGISTRY_INSECURE") == "1":
        address = OciAddress(host=host, namespace=namespace, scheme="http")
    return address
