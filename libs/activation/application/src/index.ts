// The activation service's use cases: orchestration over the domain and the repositories (docs/CONVENTIONS.md).
