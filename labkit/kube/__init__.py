"""Client-side Kubernetes for the labs, for any cluster: apply manifests, rollouts, load, kubectl.

Nothing here imports labkit's local cluster; everything goes through the official client
or the real kubectl, so it runs the same against a kubeconfig for Kind or EKS.
"""
