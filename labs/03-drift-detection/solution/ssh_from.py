"""Reference answer of Lab 03's exercise: SSH codified in Terraform, from the VPN range only."""


def ssh_from(vpn_cidr: str) -> list[str]:
    """main.tf's ssh_cidrs: the VPN's range (one bastion's /32 inside it would pass too)."""
    return [vpn_cidr]
