export {
  ERROR_CODES,
  isPhoenixErrorCode,
  PhoenixError,
  type PhoenixErrorCode,
  type PhoenixErrorDetails,
} from './phoenix-error.js';
