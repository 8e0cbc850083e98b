"""The generated TypeScript client (clients/typescript, issue 18 part 2) is current, and its types
hold: the committed documents and types are what the server's code makes now, the example
type-checks with `tsc`, and a misuse of the API's types does not."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from server.app import api_documents
from tests.server.processes import command_env, run_command

CLIENT = Path(__file__).parents[2] / "clients" / "typescript"
STALE = "the committed TypeScript client is stale: run `make client` and commit the result"


def _node_tools() -> tuple[str, Path]:
    node = shutil.which("node")
    tsc = CLIENT / "node_modules" / ".bin" / "tsc"
    assert node is not None and tsc.exists(), (
        "node and clients/typescript/node_modules are installed by `make install-test`"
    )
    return node, tsc


def _run(*command: str | Path, cwd: Path = CLIENT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_committed_documents_are_what_the_server_serves() -> None:
    for name, document in api_documents().items():
        committed = json.loads((CLIENT / "api" / name).read_text())
        assert committed == json.loads(json.dumps(document)), f"api/{name}: {STALE}"


def test_the_committed_types_are_what_the_generator_makes_now(tmp_path: Path) -> None:
    node, _ = _node_tools()
    api = tmp_path / "api"
    api.mkdir()
    for name, document in api_documents().items():
        (api / name).write_text(json.dumps(document))
    made = _run(node, "scripts/generate.mjs", tmp_path / "src", api)
    assert made.returncode == 0, made.stderr
    for name in ("schema.d.ts", "frames.d.ts"):
        assert (tmp_path / "src" / name).read_text() == (CLIENT / "src" / name).read_text(), (
            f"src/{name}: {STALE}"
        )


def test_the_example_type_checks() -> None:
    _, tsc = _node_tools()
    checked = _run(tsc, "--noEmit", "-p", ".")
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("misuse", "complaint"),
    [
        (
            'api.POST("/api/groups/{group_id}/expenses", '
            '{params: {path: {group_id: "g"}}, body: {description: "x", amount: 60}});',
            "TS2322",
        ),
        ('api.GET("/api/groups/{group_id}/balance", {params: {path: {group_id: "g"}}});', "TS2345"),
        (
            'const frame = parseServerFrame("{}"); '
            'if (isEvent(frame) && frame.type === "expense.deleted") frame.data.amount;',
            "TS2339",
        ),
        ('commandText({type: "subscribe"});', "TS2345"),
    ],
)
def test_a_misuse_of_the_types_does_not_type_check(tmp_path: Path, misuse: str, complaint: str) -> None:
    """The types are not `any`: a wrong amount, an unknown path, a field an event lacks and a
    command missing its channel are each refused."""
    _, tsc = _node_tools()
    wrong = tmp_path / "wrong.ts"
    wrong.write_text(
        "import { commandText, createApiClient, isEvent, parseServerFrame } from "
        f'"{CLIENT}/src/index.ts";\n'
        'const api = createApiClient({ baseUrl: "http://localhost" });\n'
        f"export async function misuse(): Promise<void> {{ {misuse} }}\n"
    )
    config = tmp_path / "tsconfig.json"
    config.write_text(
        json.dumps({"extends": str(CLIENT / "tsconfig.json"), "include": [str(CLIENT / "src"), str(wrong)]})
    )
    checked = _run(tsc, "--noEmit", "-p", config)
    assert checked.returncode != 0 and complaint in checked.stdout, checked.stdout + checked.stderr


def test_the_asyncapi_document_is_valid_asyncapi_3() -> None:
    """Against the specification's own JSON Schema, from the pinned @asyncapi/specs package."""
    schema_file = CLIENT / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0-without-$id.json"
    assert schema_file.exists(), "installed by `make install-test` (clients/typescript: npm ci)"
    validator = Draft7Validator(json.loads(schema_file.read_text()))
    document = json.loads(json.dumps(api_documents()["asyncapi.json"]))
    problems = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(document)
    ]
    assert not problems, problems[:5]
    document["operations"]["sendPing"]["action"] = "emit"
    assert not validator.is_valid(document)


def test_describe_writes_the_documents_without_any_configuration(tmp_path: Path) -> None:
    """`expense-tracker describe DIR`, in a directory with no settings and an unwritable data dir:
    what `make client` runs."""
    env = command_env(tmp_path / "no-such" / "data", DATA_DIR="/proc/no-data-dir")
    done = run_command("describe", str(tmp_path / "api"), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name, document in api_documents().items():
        assert json.loads((tmp_path / "api" / name).read_text()) == json.loads(json.dumps(document))
    assert not (tmp_path / "no-such").exists()
