"""GPU worker for keyframes (AWS Batch / ECS / a local GPU): see worker.py."""
