"""Onboarding: ``golive init`` reads a repository (never running its code) and writes a
starting checklist and workflow; ``golive doctor`` checks the machine a checklist needs."""
