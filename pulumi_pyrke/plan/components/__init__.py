"""One builder per component: each turns the plan context and a host into a ContainerSpec."""
