/** Caddy's configuration is JSON (the admin API's and the base file's). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
