import type { ImageProvider, ResolvedImage } from '@appc/aci';
import { type Dependency, isImageId } from '@appc/schema';
import type { Store, StoredImage } from './store.ts';

function describe(dep: Dependency): string {
  const labels = (dep.labels ?? []).map((l) => `,${l.name}=${l.value}`).join('');
  return `${dep.imageName}${labels}`;
}

/** Resolves dependencies from the store itself for `@appc/aci`'s `render` (ACI-023): by `imageName` and
 * `labels` (every label given must match), among several the highest version, then the latest import; when
 * the dependency gives an `imageID`, only the image with that full ID and matching name and labels (ACI-011;
 * a shortened ID never matches, TYPES-006). Nothing is downloaded: a missing image is an error that says to
 * fetch it. Resolving counts as a use of the image (`touch`). */
export function createStoreImageProvider(store: Store): ImageProvider {
  return {
    async resolve(dep: Dependency): Promise<ResolvedImage> {
      const query = { name: dep.imageName, labels: dep.labels ?? [] };
      let image: StoredImage | undefined;
      if (dep.imageID !== undefined) {
        image = isImageId(dep.imageID) ? store.list(query).find((i) => i.id === dep.imageID) : undefined;
      } else image = store.find(query);
      if (!image) {
        // resolve is called by render, which has loaded @appc/aci already
        const { AciError } = await import('@appc/aci');
        throw new AciError(
          `dependency ${describe(dep)}${dep.imageID ? ` with image ID ${dep.imageID}` : ''} is not in the store at ${store.dir}; fetch it first (appc fetch ${describe(dep).replace(/,version=/, ':')}), then render again.`,
          { code: 'ERR_ACI_DEPENDENCY_NOT_FOUND', requirement: 'ACI-023', file: dep.imageName },
        );
      }
      const found = image;
      store.touch(found.id);
      return {
        imageId: found.id,
        manifest: store.manifest(found.id),
        sizeBytes: found.sizeBytes,
        open: async () => (await store.openBlob(found.id)).path,
      };
    },
  };
}
