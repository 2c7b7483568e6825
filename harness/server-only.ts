// Stand-in for the `server-only` marker when lib/ runs under Vitest in plain Node.
export {};
