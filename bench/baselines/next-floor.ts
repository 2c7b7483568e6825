import { copyApp, type AppCopy } from "../app-copy";

/** Where the bare page is served in the bench's build of the app. */
export const NEXT_FLOOR_PATH = "/floor";

/**
 * The server-cost floor: a dynamic page under the app's own layout, proxy and CSP that reads no data, so
 * what a view of it costs is what Next and React cost for any page of this app.
 */
const FLOOR_PAGE = `import { connection } from "next/server";

export default async function Floor() {
  await connection();
  return (
    <main>
      <h1>Floor</h1>
      <p>No data.</p>
    </main>
  );
}
`;

/**
 * Builds, once, the copy of the app every app contender runs from: the working tree as it is, plus the bare
 * page at `/floor`. The page lives only in this copy, never in the app the bench measures.
 */
export function buildAppWithFloor(): AppCopy {
  const copy = copyApp("workerless-bench-", { [`app${NEXT_FLOOR_PATH}/page.tsx`]: FLOOR_PAGE });
  try {
    copy.build();
  } catch (error) {
    copy.remove();
    throw error;
  }
  return copy;
}
