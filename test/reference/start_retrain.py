# Starts Flywheel's retrain DAG from another service, in Python: the temporalio SDK starts the
# TypeScript workflow by its type NAME ("retrainWorkflow") on task queue "flywheel", with the
# workflow's JSON input, a meaningful idempotent workflow id and the typed search attributes the
# Temporal UI filters on; then it waits for the result and prints it as one JSON object on stdout.
#
#   python start_retrain.py <address> <model> --key <key> [--reference-time ISO] [--namespace default]
#
# Workflow id: retrain/<model>/py-<key>. The same key twice attaches to the existing run (running or
# finished) instead of starting a second one, as the TypeScript client does.
# Errors: one line on stderr, exit 1.
import argparse
import asyncio
import json
import os
import sys

from temporalio.client import Client, WorkflowFailureError
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

TASK_QUEUE = "flywheel"
WORKFLOW_TYPE = "retrainWorkflow"
TRIGGER = "python-service"

# The same keys (and types) as workflows/search-attributes.ts.
MODEL_NAME = SearchAttributeKey.for_keyword("ModelName")
TRIGGER_REASON = SearchAttributeKey.for_keyword("TriggerReason")


def root_message(error: BaseException) -> str:
    while error.__cause__ is not None:
        error = error.__cause__
    return str(error)


async def start_retrain(address: str, namespace: str, model: str, key: str, reference_time: str | None) -> dict:
    client = await Client.connect(address, namespace=namespace)
    workflow_id = f"retrain/{model}/py-{key}"
    # RetrainInput (workflows/types.ts): plain JSON, the SDKs' default converter on both sides.
    retrain_input = {"modelName": model, "trigger": TRIGGER}
    if reference_time:
        retrain_input["referenceTime"] = reference_time
    try:
        handle = await client.start_workflow(
            WORKFLOW_TYPE,
            retrain_input,
            id=workflow_id,
            task_queue=TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(MODEL_NAME, model), SearchAttributePair(TRIGGER_REASON, TRIGGER)]
            ),
            static_summary=f"retrain {model} ({TRIGGER})",
        )
    except WorkflowAlreadyStartedError:
        # The same key already ran to completion: hand back that run rather than a second one.
        handle = client.get_workflow_handle(workflow_id)
    return await handle.result()


def main() -> int:
    parser = argparse.ArgumentParser(description="Start Flywheel's retrainWorkflow from Python and print its result as JSON.")
    parser.add_argument("address", help="Temporal frontend, host:port")
    parser.add_argument("model", help="model name (a model spec applied in lineage)")
    parser.add_argument("--key", required=True, help="idempotency key: the workflow id is retrain/<model>/py-<key>")
    parser.add_argument("--reference-time", help="end of the data window, ISO 8601 (default: the run's start time)")
    parser.add_argument("--namespace", default="default")
    args = parser.parse_args()
    try:
        result = asyncio.run(start_retrain(args.address, args.namespace, args.model, args.key, args.reference_time))
    except WorkflowFailureError as error:
        print(f"start_retrain: workflow failed: {root_message(error)}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - one line for any other failure (connection, bad input)
        print(f"start_retrain: {type(error).__name__}: {root_message(error)}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Exit without interpreter finalization: the SDK's Rust core threads can abort it in a
    # short-lived client process ("Fatal Python error: PyGILState_Release ... finalizing", SIGABRT
    # in about 1 run in 30 here; temporalio/sdk-python#300). Everything is flushed by now.
    os._exit(code)
