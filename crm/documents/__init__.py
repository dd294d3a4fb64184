"""Documents on leads, meetings and missions: MoU drafts, presentations, signed agreements."""
