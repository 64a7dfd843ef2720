"""Node sources: machines from clouds (EC2 through boto3: sources/ec2.py); S3 snapshot storage comes later."""
