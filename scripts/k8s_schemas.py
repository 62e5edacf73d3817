"""The source of the shipped Kubernetes JSON Schemas in `schemas/k8s/`.

Small, hand-kept schemas (not the full OpenAPI of Kubernetes) for the kinds a train bumps:
Deployment, StatefulSet, DaemonSet, CronJob and the kustomize Kustomization/Component. They
list every field of the objects they describe (so a typo such as `imagePullPolicey` fails,
at its line), with `additionalProperties: false` and a description on every property; deeper
objects that the bot does not edit (probes, affinity, volumes...) are open objects.

A maintenance script, not part of the bot (the manifest gate reads only the JSON files):
`python -m scripts.k8s_schemas` rewrites them; `tests/gates/test_schemas.py` keeps them in sync.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DIALECT = "https://json-schema.org/draft/2020-12/schema"
Schema = dict[str, Any]


def _p(description: str, **schema: Any) -> Schema:
    return {"description": description, **schema}


def _obj(description: str, props: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    schema: Schema = {
        "type": "object",
        "description": description,
        "properties": props,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


def _open(description: str) -> Schema:
    return {"type": "object", "description": description}


def _ref(name: str, description: str) -> Schema:
    return {"$ref": f"#/$defs/{name}", "description": description}


def _arr(description: str, items: Schema) -> Schema:
    return {"type": "array", "description": description, "items": items}


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
INT_OR_STR = {"type": ["integer", "string"]}
QUANTITIES = {"type": "object", "additionalProperties": {"type": ["string", "number"]}}


def _meta() -> Schema:
    return _obj(
        "Standard object metadata.",
        {
            "name": _p("Name of the object, unique in its namespace.", **STR),
            "generateName": _p("Prefix for a server-generated name.", **STR),
            "namespace": _p("Namespace of the object.", **STR),
            "labels": _p("Labels: string keys and values.", **STR_MAP),
            "annotations": _p("Annotations: string keys and values.", **STR_MAP),
            "uid": _p("Server-assigned unique id.", **STR),
            "resourceVersion": _p("Server-assigned version for optimistic concurrency.", **STR),
            "generation": _p("Server-assigned generation of the desired state.", **INT),
            "creationTimestamp": _p("Server-assigned creation time.", type=["string", "null"]),
            "deletionTimestamp": _p("Server-assigned deletion time.", type=["string", "null"]),
            "deletionGracePeriodSeconds": _p("Seconds allowed for graceful deletion.", **INT),
            "ownerReferences": _arr("Objects this object depends on.", _open("An owner.")),
            "finalizers": _arr("Finalizers that must run before deletion.", STR),
            "managedFields": _arr("Field management records.", _open("A record.")),
            "selfLink": _p("Deprecated link to the object.", **STR),
        },
    )


def _selector() -> Schema:
    expression = _obj(
        "A label selector requirement.",
        {
            "key": _p("Label key the requirement applies to.", **STR),
            "operator": _p(
                "How key and values relate.", enum=["In", "NotIn", "Exists", "DoesNotExist"]
            ),
            "values": _arr("Values for In and NotIn.", STR),
        },
        ("key", "operator"),
    )
    return _obj(
        "Selects pods by label.",
        {
            "matchLabels": _p("Labels that must all match.", **STR_MAP),
            "matchExpressions": _arr("Requirements that must all match.", expression),
        },
    )


_CONTAINER_FIELDS: dict[str, Schema] = {
    "name": _p("Container name, unique in the pod (DNS label).", **STR),
    "image": _p("Container image reference: registry/name:tag@digest.", **STR, minLength=1),
    "command": _arr("Entrypoint array; replaces the image's ENTRYPOINT.", STR),
    "args": _arr("Arguments to the entrypoint; replace the image's CMD.", STR),
    "workingDir": _p("Working directory of the container.", **STR),
    "ports": _arr("Ports to expose from the container.", _ref("ContainerPort", "A port.")),
    "envFrom": _arr("Sources of environment variables.", _open("A ConfigMap or Secret.")),
    "env": _arr("Environment variables to set.", _ref("EnvVar", "A variable.")),
    "resources": _ref("Resources", "Compute resources required by this container."),
    "resizePolicy": _arr("Resize policy per resource.", _open("A resize policy.")),
    "restartPolicy": _p("Restart policy of an init container (sidecars: Always).", **STR),
    "volumeMounts": _arr("Volumes mounted into the container.", _ref("VolumeMount", "A mount.")),
    "volumeDevices": _arr("Block devices used by the container.", _open("A device.")),
    "livenessProbe": _open("Probe that restarts the container when it fails."),
    "readinessProbe": _open("Probe that removes the pod from endpoints when it fails."),
    "startupProbe": _open("Probe that must pass before the other probes run."),
    "lifecycle": _open("Actions on container start and stop."),
    "terminationMessagePath": _p("File the termination message is read from.", **STR),
    "terminationMessagePolicy": _p(
        "How the termination message is filled.", enum=["File", "FallbackToLogsOnError"]
    ),
    "imagePullPolicy": _p("When to pull the image.", enum=["Always", "Never", "IfNotPresent"]),
    "securityContext": _open("Security options of the container."),
    "stdin": _p("Allocate a buffer for stdin.", **BOOL),
    "stdinOnce": _p("Close stdin after the first attach.", **BOOL),
    "tty": _p("Allocate a TTY.", **BOOL),
}


def _container_defs() -> dict[str, Schema]:
    ephemeral = dict(_CONTAINER_FIELDS)
    ephemeral["targetContainerName"] = _p("Container whose namespaces to share.", **STR)
    return {
        "Container": _obj("A container in a pod.", dict(_CONTAINER_FIELDS), ("name",)),
        "EphemeralContainer": _obj("A debugging container.", ephemeral, ("name",)),
        "ContainerPort": _obj(
            "A network port of a container.",
            {
                "containerPort": _p(
                    "Port number on the pod's IP.", **INT, minimum=1, maximum=65535
                ),
                "hostIP": _p("Host IP to bind the host port to.", **STR),
                "hostPort": _p("Port number on the host.", **INT, minimum=0, maximum=65535),
                "name": _p("Port name (IANA_SVC_NAME), unique in the pod.", **STR),
                "protocol": _p("Protocol of the port.", enum=["TCP", "UDP", "SCTP"]),
            },
            ("containerPort",),
        ),
        "EnvVar": _obj(
            "An environment variable.",
            {
                "name": _p("Variable name.", **STR),
                "value": _p("Literal value, with $(VAR) expansion.", **STR),
                "valueFrom": _open("Source of the value: field, resource, ConfigMap or Secret."),
            },
            ("name",),
        ),
        "Resources": _obj(
            "Compute resource requirements.",
            {
                "limits": _p("Maximum amount of each resource.", **QUANTITIES),
                "requests": _p("Minimum amount of each resource.", **QUANTITIES),
                "claims": _arr("Resource claims used by this container.", _open("A claim.")),
            },
        ),
        "VolumeMount": _obj(
            "A volume mounted into a container.",
            {
                "name": _p("Name of the pod volume.", **STR),
                "mountPath": _p("Path in the container.", **STR),
                "readOnly": _p("Mount read-only.", **BOOL),
                "recursiveReadOnly": _p("Recursive read-only mode.", **STR),
                "subPath": _p("Path inside the volume to mount.", **STR),
                "subPathExpr": _p("subPath with $(VAR) expansion.", **STR),
                "mountPropagation": _p("How mounts propagate.", **STR),
            },
            ("name", "mountPath"),
        ),
    }


_POD_FIELDS: dict[str, Schema] = {
    "activeDeadlineSeconds": _p("Seconds the pod may run before it is stopped.", **INT),
    "affinity": _open("Scheduling constraints."),
    "automountServiceAccountToken": _p("Mount the service account token.", **BOOL),
    "containers": _arr("Containers of the pod (at least one).", _ref("Container", "A container."))
    | {"minItems": 1},
    "dnsConfig": _open("DNS settings of the pod."),
    "dnsPolicy": _p(
        "DNS policy of the pod.",
        enum=["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
    ),
    "enableServiceLinks": _p("Inject service environment variables.", **BOOL),
    "ephemeralContainers": _arr(
        "Debugging containers.", _ref("EphemeralContainer", "A container.")
    ),
    "hostAliases": _arr("Extra /etc/hosts entries.", _open("A host alias.")),
    "hostIPC": _p("Use the host's IPC namespace.", **BOOL),
    "hostNetwork": _p("Use the host's network namespace.", **BOOL),
    "hostPID": _p("Use the host's PID namespace.", **BOOL),
    "hostUsers": _p("Use the host's user namespace.", **BOOL),
    "hostname": _p("Hostname of the pod.", **STR),
    "imagePullSecrets": _arr("Secrets for pulling images.", _open("A secret reference.")),
    "initContainers": _arr(
        "Containers run before the app containers.", _ref("Container", "A container.")
    ),
    "nodeName": _p("Node to run on, bypassing the scheduler.", **STR),
    "nodeSelector": _p("Node labels that must match.", **STR_MAP),
    "os": _open("Operating system of the pod's containers."),
    "overhead": _p("Resource overhead of the pod's runtime.", **QUANTITIES),
    "preemptionPolicy": _p("Whether the pod may preempt others.", **STR),
    "priority": _p("Priority value.", **INT),
    "priorityClassName": _p("Priority class.", **STR),
    "readinessGates": _arr("Extra readiness conditions.", _open("A gate.")),
    "resourceClaims": _arr("Dynamic resource claims.", _open("A claim.")),
    "resources": _ref("Resources", "Pod-level compute resources."),
    "restartPolicy": _p("Restart policy of the containers.", enum=["Always", "OnFailure", "Never"]),
    "runtimeClassName": _p("Runtime class.", **STR),
    "schedulerName": _p("Scheduler that places the pod.", **STR),
    "schedulingGates": _arr("Gates that hold scheduling.", _open("A gate.")),
    "securityContext": _open("Pod-level security options."),
    "serviceAccount": _p("Deprecated alias of serviceAccountName.", **STR),
    "serviceAccountName": _p("Service account the pod runs as.", **STR),
    "setHostnameAsFQDN": _p("Use the FQDN as hostname.", **BOOL),
    "shareProcessNamespace": _p("Share one PID namespace between containers.", **BOOL),
    "subdomain": _p("Subdomain of the pod's hostname.", **STR),
    "terminationGracePeriodSeconds": _p("Seconds to wait after SIGTERM.", **INT),
    "tolerations": _arr("Taints the pod tolerates.", _open("A toleration.")),
    "topologySpreadConstraints": _arr("How pods spread.", _open("A constraint.")),
    "volumes": _arr(
        "Volumes the containers may mount.",
        {"type": "object", "description": "A volume.", "required": ["name"]},
    ),
}


def _pod_defs() -> dict[str, Schema]:
    return {
        "ObjectMeta": _meta(),
        "LabelSelector": _selector(),
        "PodSpec": _obj("Desired state of a pod.", dict(_POD_FIELDS), ("containers",)),
        "PodTemplateSpec": _obj(
            "Template of the pods to create.",
            {
                "metadata": _ref("ObjectMeta", "Metadata of the pods."),
                "spec": _ref("PodSpec", "Spec of the pods."),
            },
            ("spec",),
        ),
        **_container_defs(),
    }


def _workload(kind: str, api: str, spec: Schema, description: str) -> Schema:
    return {
        "$schema": DIALECT,
        "$id": f"https://release-train.dev/schemas/k8s/{kind.lower()}.json",
        "title": f"{kind} ({api})",
        "description": description,
        "type": "object",
        "properties": {
            "apiVersion": _p("API group and version.", const=api),
            "kind": _p("Object kind.", const=kind),
            "metadata": _ref("ObjectMeta", f"Metadata of the {kind}."),
            "spec": spec,
            "status": _open("Observed state, written by the cluster."),
        },
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "$defs": _pod_defs(),
    }


_COMMON_SPEC: dict[str, Schema] = {
    "selector": _ref("LabelSelector", "Selects the pods this object manages."),
    "template": _ref("PodTemplateSpec", "Template of the pods."),
    "minReadySeconds": _p("Seconds a new pod must be ready to count as available.", **INT),
    "revisionHistoryLimit": _p("Old revisions to keep for rollback.", **INT, minimum=0),
}


def _rolling(description: str, fields: dict[str, Schema]) -> Schema:
    return _obj(description, fields)


def deployment() -> Schema:
    strategy = _obj(
        "How old pods are replaced by new ones.",
        {
            "type": _p("Replacement strategy.", enum=["RollingUpdate", "Recreate"]),
            "rollingUpdate": _rolling(
                "Rolling update parameters.",
                {
                    "maxUnavailable": _p(
                        "Pods that may be unavailable (count or %).", **INT_OR_STR
                    ),
                    "maxSurge": _p("Pods above the desired count (count or %).", **INT_OR_STR),
                },
            ),
        },
    )
    spec = _obj(
        "Desired state of the Deployment.",
        {
            "replicas": _p("Desired number of pods.", **INT, minimum=0),
            **_COMMON_SPEC,
            "strategy": strategy,
            "progressDeadlineSeconds": _p("Seconds before a stalled rollout fails.", **INT),
            "paused": _p("Pause the rollout.", **BOOL),
        },
        ("selector", "template"),
    )
    return _workload("Deployment", "apps/v1", spec, "A Kubernetes Deployment.")


def statefulset() -> Schema:
    update = _obj(
        "How pods are updated.",
        {
            "type": _p("Update strategy.", enum=["RollingUpdate", "OnDelete"]),
            "rollingUpdate": _rolling(
                "Rolling update parameters.",
                {
                    "partition": _p("Ordinal at and above which pods are updated.", **INT),
                    "maxUnavailable": _p(
                        "Pods that may be unavailable (count or %).", **INT_OR_STR
                    ),
                },
            ),
        },
    )
    spec = _obj(
        "Desired state of the StatefulSet.",
        {
            "replicas": _p("Desired number of pods.", **INT, minimum=0),
            **_COMMON_SPEC,
            "serviceName": _p("Headless service that gives the pods their identity.", **STR),
            "volumeClaimTemplates": _arr("Claims each pod gets.", _open("A claim template.")),
            "podManagementPolicy": _p("Pod creation order.", enum=["OrderedReady", "Parallel"]),
            "updateStrategy": update,
            "persistentVolumeClaimRetentionPolicy": _open("What happens to claims on delete."),
            "ordinals": _open("Numbering of the pods."),
        },
        ("selector", "template"),
    )
    return _workload("StatefulSet", "apps/v1", spec, "A Kubernetes StatefulSet.")


def daemonset() -> Schema:
    update = _obj(
        "How pods are updated.",
        {
            "type": _p("Update strategy.", enum=["RollingUpdate", "OnDelete"]),
            "rollingUpdate": _rolling(
                "Rolling update parameters.",
                {
                    "maxUnavailable": _p(
                        "Pods that may be unavailable (count or %).", **INT_OR_STR
                    ),
                    "maxSurge": _p("Extra pods during the update (count or %).", **INT_OR_STR),
                },
            ),
        },
    )
    spec = _obj(
        "Desired state of the DaemonSet.",
        {**_COMMON_SPEC, "updateStrategy": update},
        ("selector", "template"),
    )
    return _workload("DaemonSet", "apps/v1", spec, "A Kubernetes DaemonSet.")


def cronjob() -> Schema:
    job_spec = _obj(
        "Desired state of each Job.",
        {
            "parallelism": _p("Pods running at once.", **INT, minimum=0),
            "completions": _p("Successful pods needed.", **INT, minimum=0),
            "activeDeadlineSeconds": _p("Seconds the Job may run.", **INT),
            "podFailurePolicy": _open("How pod failures count."),
            "successPolicy": _open("When the Job counts as succeeded."),
            "backoffLimit": _p("Retries before the Job fails.", **INT, minimum=0),
            "backoffLimitPerIndex": _p("Retries per index (indexed Jobs).", **INT),
            "maxFailedIndexes": _p("Failed indexes before the Job fails.", **INT),
            "selector": _ref("LabelSelector", "Selects the Job's pods."),
            "manualSelector": _p("Use the given selector as is.", **BOOL),
            "template": _ref("PodTemplateSpec", "Template of the Job's pods."),
            "ttlSecondsAfterFinished": _p("Seconds before a finished Job is deleted.", **INT),
            "completionMode": _p("How completions are tracked.", enum=["NonIndexed", "Indexed"]),
            "suspend": _p("Suspend the Job.", **BOOL),
            "podReplacementPolicy": _p("When replacement pods are created.", **STR),
            "managedBy": _p("Controller that manages the Job.", **STR),
        },
        ("template",),
    )
    spec = _obj(
        "Desired state of the CronJob.",
        {
            "schedule": _p("Cron schedule.", **STR, minLength=1),
            "timeZone": _p("Time zone of the schedule.", **STR),
            "startingDeadlineSeconds": _p("Seconds a missed run may start late.", **INT),
            "concurrencyPolicy": _p("Overlapping runs.", enum=["Allow", "Forbid", "Replace"]),
            "suspend": _p("Suspend future runs.", **BOOL),
            "jobTemplate": _obj(
                "Template of the Jobs to create.",
                {"metadata": _ref("ObjectMeta", "Metadata of the Jobs."), "spec": job_spec},
                ("spec",),
            ),
            "successfulJobsHistoryLimit": _p("Finished Jobs to keep.", **INT, minimum=0),
            "failedJobsHistoryLimit": _p("Failed Jobs to keep.", **INT, minimum=0),
        },
        ("schedule", "jobTemplate"),
    )
    return _workload("CronJob", "batch/v1", spec, "A Kubernetes CronJob.")


def _list(description: str) -> Schema:
    return _arr(description, STR)


def kustomization() -> Schema:
    image = _obj(
        "An image override.",
        {
            "name": _p("Image name to match, without tag.", **STR),
            "newName": _p("Replacement image name.", **STR),
            "newTag": _p("Replacement tag.", **STR),
            "digest": _p("Replacement digest (sha256:...).", **STR),
            "tagSuffix": _p("Suffix appended to the tag.", **STR),
        },
        ("name",),
    )
    replica = _obj(
        "A replica count override.",
        {"name": _p("Workload name.", **STR), "count": _p("Replicas.", **INT, minimum=0)},
        ("name", "count"),
    )
    props: dict[str, Schema] = {
        "apiVersion": _p(
            "kustomize API version.",
            enum=["kustomize.config.k8s.io/v1beta1", "kustomize.config.k8s.io/v1alpha1"],
        ),
        "kind": _p(
            "Kustomization, or Component for reusable pieces.", enum=["Kustomization", "Component"]
        ),
        "metadata": _open("Metadata (name) of the kustomization."),
        "resources": _list("Files, directories or URLs of resources."),
        "bases": _list("Deprecated: use resources."),
        "components": _list("Components to include."),
        "crds": _list("CRD files whose fields kustomize should know."),
        "namespace": _p("Namespace set on every resource.", **STR),
        "namePrefix": _p("Prefix added to every name.", **STR),
        "nameSuffix": _p("Suffix added to every name.", **STR),
        "commonLabels": _p("Labels added to resources and selectors.", **STR_MAP),
        "labels": _arr("Labels added, with options.", _open("A label set.")),
        "commonAnnotations": _p("Annotations added to every resource.", **STR_MAP),
        "images": _arr("Image overrides.", image),
        "replicas": _arr("Replica count overrides.", replica),
        "patches": _arr("Patches, inline or by path, with targets.", _open("A patch.")),
        "patchesStrategicMerge": _arr(
            "Deprecated strategic-merge patches.", {"type": ["string", "object"]}
        ),
        "patchesJson6902": _arr("Deprecated JSON 6902 patches.", _open("A patch.")),
        "configMapGenerator": _arr("ConfigMaps to generate.", _open("A generator.")),
        "secretGenerator": _arr("Secrets to generate.", _open("A generator.")),
        "generatorOptions": _open("Options for generated ConfigMaps and Secrets."),
        "generators": _list("Generator plugin configs."),
        "transformers": _list("Transformer plugin configs."),
        "validators": _list("Validator plugin configs."),
        "openapi": _open("OpenAPI schema options."),
        "vars": _arr("Deprecated: use replacements.", _open("A var.")),
        "replacements": _arr("Field replacements.", _open("A replacement.")),
        "buildMetadata": _list("Build metadata to add."),
        "helmCharts": _arr("Helm charts to inflate.", _open("A chart.")),
        "helmGlobals": _open("Global Helm settings."),
        "sortOptions": _open("Output order of resources."),
        "configurations": _list("Transformer configuration files."),
    }
    return {
        "$schema": DIALECT,
        "$id": "https://release-train.dev/schemas/k8s/kustomization.json",
        "title": "Kustomization (kustomize.config.k8s.io)",
        "description": "A kustomize kustomization.yaml (or Component).",
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }


def all_schemas() -> dict[str, Schema]:
    """File name -> schema, for every shipped Kubernetes schema."""
    return {
        "deployment.json": deployment(),
        "statefulset.json": statefulset(),
        "daemonset.json": daemonset(),
        "cronjob.json": cronjob(),
        "kustomization.json": kustomization(),
    }


def render(schema: Schema) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> None:  # pragma: no cover - a maintenance command
    from bot.resources import schema_path

    target = Path(schema_path("k8s"))
    target.mkdir(parents=True, exist_ok=True)
    for name, schema in all_schemas().items():
        (target / name).write_text(render(schema), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    main()
