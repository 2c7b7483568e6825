import type { FragmentResult } from "@/lib/fragments";

/** A result with no data to show: still working past its deadline, failed, busy, or its parameters refused. */
export type NoticeResult = Exclude<FragmentResult, { status: "ready" }>;

/** What a part says when it has no data to show. */
export function noticeText(result: NoticeResult): string {
  const { name } = result;
  switch (result.status) {
    case "pending":
      return `Still working on ${name}: its data is on the way.`;
    case "error":
      return `This part (${name}) could not be loaded.`;
    case "busy":
      return `Too many lookups of ${name} are under way: try again in ${result.retryAfterSeconds} s.`;
    case "refused":
      return `This part (${name}) was not asked: ${result.message}.`;
  }
}

/** The notice as the page shows it: a status a screen reader hears politely, or an alert. */
export function FragmentNotice({ result }: { result: NoticeResult }) {
  return result.status === "pending" || result.status === "busy" ? (
    <p className={`fragment-${result.status}`} role="status">
      {noticeText(result)}
    </p>
  ) : (
    <p className="fragment-alert" role="alert">
      {noticeText(result)}
    </p>
  );
}
