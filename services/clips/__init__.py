"""Clips: the motion between each scene's start and end keyframe."""
