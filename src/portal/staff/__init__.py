"""The practice's side: the access policy and the staff areas built on it."""
