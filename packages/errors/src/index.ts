export {
  ERROR_CODES,
  isPhoenixErrorCode,
  PhoenixError,
  type PhoenixErrorCode,
  type PhoenixErrorDetails,
  type RemoteError,
  type ValidationIssue,
} from './phoenix-error.js';
