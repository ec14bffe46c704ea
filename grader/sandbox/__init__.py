"""The sandbox learner code runs in: bubblewrap around a zygote that forks one grading child at a time.

``box`` starts the sandbox and acts on it from outside; ``zygote`` runs inside
it; ``wire`` carries messages (and pipe ends) between the two; ``cgroup`` caps
memory and processes. What each layer stops is in docs/security.md.
"""

from grader.sandbox.box import Sandbox, SandboxFailed, SandboxState, probe

__all__ = ["Sandbox", "SandboxFailed", "SandboxState", "probe"]
