/** What a source's data may be: exactly what survives a trip through JSON. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
