/** Echo task of the piscina benchmark: the payload is cloned back to the caller. */
export default function echo(payload: Uint8Array): Uint8Array {
  return payload;
}
