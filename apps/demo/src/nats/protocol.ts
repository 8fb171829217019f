/** What the NATS demo's hosts serve and its caller calls. */
export const SERVICE = 'demo';
export const WHO = 1001; // replies "<host> worker <pid>: <payload>"
export const REFUSES = 1002; // throws: the error crosses the wire
