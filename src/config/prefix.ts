// The one rule for backend prefixes (CONTRACT §1), shared by the config, discovery, the
// registration helper and composite tools.
import { z } from 'zod';

export const PREFIX_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;

export const PrefixSchema = z.string().regex(PREFIX_PATTERN, `must match ${PREFIX_PATTERN.source}`);
