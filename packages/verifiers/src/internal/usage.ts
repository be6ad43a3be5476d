/** Thrown for misuse of the API (a wrong argument type, a missing required URL), never for bad input. */
export class VerifierUsageError extends TypeError {
  override readonly name = 'VerifierUsageError';
}
