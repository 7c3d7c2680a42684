"""`envgen new`: a commented spec, from a template, that builds and conforms as is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from envgen.cli._failure import Failure
from envgen.compiler.schema import SCHEMA_FILE

TEMPLATES = ("discrete", "continuous", "image", "dict")
TEMPLATE_DIR = Path(__file__).parent / "templates" / "new"


def _id_for(name: str) -> tuple[str, str]:
    """(env id, file stem) for NAME: `GoRight`, `go_right`, `acme/GoRight-v1`."""
    from envgen.compiler.spec import ENV_ID

    if len(name) > 100:  # the file name must fit (a 300-character name was an OSError)
        raise Failure(
            f"'{name[:40]}...' is too long for an env name ({len(name)} characters, at most 100)",
            "e.g. GoRight or acme/GoRight-v1",
            code=2,
        )
    namespace, _, rest = name.rpartition("/")
    if re.search(r"-v\d+$", rest):
        base, _, version = rest.rpartition("-v")
    else:
        base, version = rest, "0"
    if not re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", base) or (
        namespace and not re.match(r"^[A-Za-z_][\w.-]*$", namespace)
    ):
        raise Failure(
            f"'{name}' does not make a valid env id",
            "use letters, digits, _ and -, starting with a letter: "
            "e.g. GoRight, go_right or acme/GoRight-v1",
            code=2,
        )
    if "_" in base or "-" in base or base.islower():
        base = "".join(w[:1].upper() + w[1:] for w in re.split(r"[_-]+", base) if w)
    env_id = f"{namespace or 'envgen'}/{base}-v{version}"
    if not ENV_ID.match(env_id):
        raise Failure(
            f"'{name}' does not make a valid env id ({env_id})",
            "e.g. GoRight or acme/GoRight-v1",
            code=2,
        )
    stem = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", base).lower()
    return env_id, stem


def _schema_ref(spec_file: Path) -> tuple[str, bool]:
    """The `$schema=` path for a spec at `spec_file`: the nearest envgen.schema.json above it."""
    import os

    folder = spec_file.resolve().parent
    for candidate in [folder, *folder.parents]:
        schema_path = candidate / SCHEMA_FILE
        if schema_path.is_file():
            return Path(os.path.relpath(schema_path, folder)).as_posix(), True
    return Path(os.path.relpath(Path.cwd().resolve() / SCHEMA_FILE, folder)).as_posix(), False


def render_template(template: str, env_id: str, schema_ref: str) -> str:
    from jinja2 import Environment, StrictUndefined

    text = (TEMPLATE_DIR / f"{template}.yaml.jinja").read_text(encoding="utf-8")
    jinja = Environment(
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        variable_start_string="<<",
        variable_end_string=">>",
        block_start_string="<%",
        block_end_string="%>",
        comment_start_string="<#",
        comment_end_string="#>",
    )
    return jinja.from_string(text).render(id=env_id, schema=schema_ref, title=env_id.split("/")[-1])


@dataclass
class Scaffold:
    """A spec written by :func:`write_spec`."""

    path: Path
    env_id: str
    template: str
    schema_found: bool  # False: no envgen.schema.json above it; `$schema=` names ./ instead


def write_spec(name: str, template: str, output: Path | None) -> Scaffold:
    """Write the spec NAME from `template` to `output` (a file or a folder; default:
    specs/<name>.yaml if specs/ exists, else ./<name>.yaml). Never overwrites a file."""
    env_id, stem = _id_for(name)
    if output is None:
        output = (Path("specs") if Path("specs").is_dir() else Path(".")) / f"{stem}.yaml"
    elif output.is_dir():
        output = output / f"{stem}.yaml"
    if output.exists():
        raise Failure(
            f"{output} already exists; not overwriting it",
            "choose another file with -o, or delete it first",
        )
    if not output.parent.is_dir():
        raise Failure(f"no such folder: {output.parent}", "create it first, or choose -o", code=2)
    ref, found = _schema_ref(output)
    text = render_template(template, env_id, ref)
    try:
        with output.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise Failure(f"{output} already exists; not overwriting it") from None
    except OSError as exc:
        raise Failure(f"cannot write {output}: {exc.strerror or exc}") from None
    return Scaffold(output, env_id, template, found)
