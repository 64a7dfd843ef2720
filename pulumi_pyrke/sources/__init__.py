"""Node sources: EC2 node pools and S3 snapshot storage through boto3 (arrives with the AWS issue)."""
