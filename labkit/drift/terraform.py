"""Real Terraform in the lab's working directory: init against the provider mirror, apply, plan.

No registry is reachable here: the AWS provider comes from a local filesystem mirror
(/opt/tf-plugins and the usual places, or LABKIT_TF_PLUGIN_DIR), named in a CLI config
file of the working directory.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..aws import AwsTarget
from ..errors import ComponentError
from ..runtime import Run

PLUGIN_DIRS = ("/opt/tf-plugins", "/usr/share/terraform/plugins", "~/.terraform.d/plugins")


def find_terraform() -> tuple[str | None, Path | None]:
    """The terraform binary on PATH and a local provider mirror, if any (no registry here)."""
    binary = shutil.which("terraform")
    candidates = [os.environ.get("LABKIT_TF_PLUGIN_DIR", ""), *PLUGIN_DIRS]
    mirror = next((Path(p).expanduser() for p in candidates if p and Path(p).expanduser().is_dir()), None)
    return binary, mirror


@dataclass
class PlanResult:
    """terraform plan -detailed-exitcode: 0 no changes, 2 changes, 1 error; None when it cannot run."""

    exit_code: int | None
    lines: list[str]  # the plan's change lines (~ + -), as Terraform prints them
    summary: str

    @property
    def sees_changes(self) -> bool:
        """terraform plan found changes to make (exit 2)."""
        return self.exit_code == 2

    def describe(self) -> str:
        """The plan's exit code and summary, with its first lines."""
        shown = "\n".join(f"  {line}" for line in self.lines[:30])
        return f"terraform plan -detailed-exitcode: exit {self.exit_code} - {self.summary}" + (
            f"\n{shown}" if shown else "")


class Terraform:
    """One configuration in one working directory, with the variables the lab sets."""

    def __init__(self, run: Run, binary: str, work: Path, env: dict[str, str], variables: dict[str, str]):
        self.run, self.binary, self.work, self.env, self.vars = run, binary, work, env, variables
        self.plans = 0

    @classmethod
    def init(cls, run: Run, binary: str, mirror: Path | None, config: Path, target: AwsTarget,
             variables: dict[str, str]) -> Terraform:
        """Copy the configuration into the run's directory and `terraform init` it."""
        work = run.dir / "terraform"
        work.mkdir(exist_ok=True)
        shutil.copyfile(config, work / config.name)
        env = {"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_INPUT": "0", "AWS_REGION": target.region,
               # terraform and the AWS provider live for seconds: collect garbage only past 1 GiB
               # (halves their CPU time - the provider rebuilds its whole schema on every start)
               "GOGC": "off", "GOMEMLIMIT": "1GiB"}
        if target.endpoint_url:
            env |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        elif target.profile:
            env["AWS_PROFILE"] = target.profile
        if mirror is not None:
            rc = work / "terraformrc"
            rc.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n')
            env["TF_CLI_CONFIG_FILE"] = str(rc)
        code, out = run.run_command("terraform-init", [binary, "init", "-input=false", "-no-color"], env=env,
                                    cwd=work, timeout=180)
        if code != 0:
            raise ComponentError("terraform init failed: " + (out.strip().splitlines()[-1] if out.strip()
                                                              else f"exit {code}, no output"))
        return cls(run, binary, work, env, variables)

    @property
    def state_path(self) -> Path:
        """The state file terraform apply writes."""
        return self.work / "terraform.tfstate"

    def _args(self) -> list[str]:
        return [f"-var={k}={v}" for k, v in self.vars.items()]

    def apply(self, log_name: str = "terraform-apply") -> None:
        """`terraform apply -auto-approve` with the current variables; ComponentError on failure."""
        code, out = self.run.run_command(log_name, [self.binary, "apply", "-auto-approve", "-input=false",
                                                    "-no-color", *self._args()], env=self.env, cwd=self.work,
                                         timeout=300)
        if code != 0:
            raise ComponentError("terraform apply failed: " + " | ".join(out.strip().splitlines()[-5:]))

    def set_list(self, name: str, values: list[str]) -> None:
        """Set a list variable (as -var=name=[...])."""
        self.vars[name] = json.dumps(values)

    def plan(self) -> PlanResult:
        """`terraform plan -detailed-exitcode`: what the standard tool sees."""
        self.plans += 1
        code, out = self.run.run_command(
            f"terraform-plan-{self.plans}", [self.binary, "plan", "-detailed-exitcode", "-input=false", "-no-color",
                                             "-lock=false", *self._args()], env=self.env, cwd=self.work,
            timeout=300)
        lines = [line.rstrip() for line in out.splitlines()]
        keep = [line for line in lines if line.strip().startswith(("~", "+", "-", "Plan:", "No changes"))
                or "will be updated" in line or "must be replaced" in line or "has changed" in line]
        if code == 1:
            return PlanResult(1, keep, "terraform plan failed: " + " | ".join(lines[-3:]))
        return PlanResult(code, keep, "changes: the live group differs from the configuration" if code == 2
                          else "no changes: state, configuration and what Terraform reads all agree")
