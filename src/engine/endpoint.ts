/**
 * An endpoint under the API base URL. The base may carry a query (`?api-version=…`, a token
 * some gateways want): the route goes into the path and the query is kept, not appended to.
 */
export function endpointUrl(serverUrl: string, route: string): URL {
  const url = new URL(serverUrl)
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${route.replace(/^\/+/, '')}`
  return url
}
