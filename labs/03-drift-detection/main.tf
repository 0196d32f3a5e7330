# Lab 03: the security group Terraform manages.
# labkit runs `terraform apply` with endpoint_url pointing at the embedded AWS endpoint
# when terraform (and its AWS provider) is available; otherwise it creates the same
# group with boto3 and writes terraform.tfstate itself. Against real AWS, leave
# endpoint_url empty and use your usual credentials.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "endpoint_url" {
  description = "An AWS-compatible endpoint (the lab's embedded one); empty for real AWS."
  type        = string
  default     = ""
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "vpc_id" {
  description = "The VPC of the group (the lab creates its own)."
  type        = string
}

variable "name" {
  type    = string
  default = "lab03-web"
}

variable "private_cidr" {
  description = "Where HTTPS may come from."
  type        = string
  default     = "10.20.0.0/16"
}

variable "ssh_cidrs" {
  description = "Where SSH may come from: narrow ranges (a VPN, a bastion), never 0.0.0.0/0. Empty: no SSH."
  type        = list(string)
  default     = []

  validation {
    condition     = !contains(var.ssh_cidrs, "0.0.0.0/0")
    error_message = "SSH from 0.0.0.0/0 is open to the whole internet: name the VPN or bastion range instead."
  }
}

locals {
  local_endpoint = var.endpoint_url != ""
}

provider "aws" {
  region                      = var.region
  skip_credentials_validation = local.local_endpoint
  skip_requesting_account_id  = local.local_endpoint
  skip_metadata_api_check     = local.local_endpoint

  dynamic "endpoints" {
    for_each = local.local_endpoint ? [var.endpoint_url] : []
    content {
      ec2 = endpoints.value
      sts = endpoints.value
      iam = endpoints.value
    }
  }
}

resource "aws_security_group" "web" {
  name        = var.name
  description = "Lab 03: HTTPS from the private network"
  vpc_id      = var.vpc_id

  ingress {
    description = "HTTPS from the private network"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = [var.private_cidr]
  }

  dynamic "ingress" {
    for_each = var.ssh_cidrs
    content {
      description = "SSH from ${ingress.value} (see the incident ticket)"
      from_port   = 22
      to_port     = 22
      protocol    = "tcp"
      cidr_blocks = [ingress.value]
    }
  }

  egress {
    description = "All outbound"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = {
    Name         = var.name
    "labkit:lab" = "03-drift-detection"
  }
}

output "security_group_id" {
  value = aws_security_group.web.id
}
