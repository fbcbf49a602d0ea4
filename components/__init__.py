"""ecr-gitops: Codefresh GitOps runtime access to Amazon ECR, as Pulumi components.

Import the pieces from their modules (`components.role`, `components.integration`, ...); this
package is also the command line (`python -m components`).
"""
