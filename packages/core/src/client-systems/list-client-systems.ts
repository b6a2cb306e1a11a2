import type { UnitOfWork } from '../unit-of-work.js'
import { type ClientSystemView, viewOf } from './client-system.js'

/** Registrations without their secrets, by code. (Reading is audited by the access control, not here.) */
export function createListClientSystems({ uow }: { uow: UnitOfWork }) {
  return {
    listClientSystems: (): Promise<ClientSystemView[]> =>
      uow.run(async ({ clientSystems }) =>
        (await clientSystems.list()).map(viewOf).sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)),
      ),
    getClientSystem: (id: string): Promise<ClientSystemView> =>
      uow.run(async ({ clientSystems }) => viewOf(await clientSystems.getOrThrow(id))),
  }
}
