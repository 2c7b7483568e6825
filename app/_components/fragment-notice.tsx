/** What a part says when it has no data to show: still working past its deadline, or failed. */
export function noticeText(status: "pending" | "error", name: string): string {
  return status === "pending"
    ? `Still working on ${name}: its data is on the way.`
    : `This part (${name}) could not be loaded.`;
}

/** The notice as the page shows it: a status a screen reader hears politely, or an alert. */
export function FragmentNotice({ status, name }: { status: "pending" | "error"; name: string }) {
  return status === "pending" ? (
    <p className="fragment-pending" role="status">
      {noticeText(status, name)}
    </p>
  ) : (
    <p className="fragment-alert" role="alert">
      {noticeText(status, name)}
    </p>
  );
}
