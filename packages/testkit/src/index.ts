// Each suite and test server lives in its own module; add one export line per module.
export {};
