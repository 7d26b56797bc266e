// The operations team's backend (운영팀): inventory lookups and IT tickets, from the seed
// tutorial's ops-server, plus a `search` tool whose name collides with the other teams'.
import { z } from 'zod';
import { answer, fold, refusal, score, terms, type DemoTeam } from './team.js';

interface Item {
  name: string;
  english: string;
  sku: string;
  stock: number;
  unit: string;
  location: string;
  reorderLevel: number;
}

const INVENTORY: readonly Item[] = [
  { name: '노트북', english: 'laptop', sku: 'IT-LT-14', stock: 42, unit: '대', location: '서울 본사 3층 IT 창고', reorderLevel: 10 },
  { name: '모니터', english: 'monitor', sku: 'IT-MN-27', stock: 17, unit: '대', location: '서울 본사 3층 IT 창고', reorderLevel: 8 },
  { name: '키보드', english: 'keyboard', sku: 'IT-KB-01', stock: 120, unit: '개', location: '판교 물류센터', reorderLevel: 30 },
  { name: '마우스', english: 'mouse', sku: 'IT-MS-01', stock: 95, unit: '개', location: '판교 물류센터', reorderLevel: 30 },
  { name: '도킹 스테이션', english: 'docking station', sku: 'IT-DK-03', stock: 6, unit: '대', location: '서울 본사 3층 IT 창고', reorderLevel: 10 },
  { name: '헤드셋', english: 'headset', sku: 'IT-HS-02', stock: 0, unit: '개', location: '판교 물류센터', reorderLevel: 15 },
  { name: '프로젝터', english: 'projector', sku: 'FC-PJ-01', stock: 3, unit: '대', location: '서울 본사 지하 1층 비품실', reorderLevel: 2 },
];

const PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;
const PRIORITY_KO: Record<(typeof PRIORITIES)[number], string> = { low: '낮음', medium: '보통', high: '높음', urgent: '긴급' };

interface Ticket {
  id: string;
  title: string;
  priority: (typeof PRIORITIES)[number];
  description: string;
  status: 'open' | 'in_progress' | 'resolved';
  createdAt: string;
}

function stockStatus(item: Item): 'in_stock' | 'low_stock' | 'out_of_stock' {
  if (item.stock === 0) return 'out_of_stock';
  return item.stock < item.reorderLevel ? 'low_stock' : 'in_stock';
}

const STATUS_KO = { in_stock: '재고 충분', low_stock: '재주문 필요', out_of_stock: '품절' } as const;

function findItem(query: string): Item | undefined {
  const wanted = fold(query);
  return (
    INVENTORY.find((item) => fold(item.name) === wanted || fold(item.english) === wanted) ??
    INVENTORY.find((item) => fold(item.name).includes(wanted) || fold(item.english).includes(wanted))
  );
}

function itemFacts(item: Item): Record<string, unknown> {
  return {
    item: item.name,
    english: item.english,
    sku: item.sku,
    stock: item.stock,
    unit: item.unit,
    location: item.location,
    reorderLevel: item.reorderLevel,
    status: stockStatus(item),
  };
}

const ItemOutput = {
  item: z.string(),
  english: z.string(),
  sku: z.string(),
  stock: z.number().int(),
  unit: z.string(),
  location: z.string(),
  reorderLevel: z.number().int(),
  status: z.enum(['in_stock', 'low_stock', 'out_of_stock']),
};

export function opsTeam(): DemoTeam {
  const tickets: Ticket[] = [
    { id: 'OPS-1001', title: '3층 회의실 모니터 깜빡임', priority: 'medium', description: '27인치 모니터 화면이 간헐적으로 꺼짐', status: 'in_progress', createdAt: '2025-03-03T01:20:00.000Z' },
    { id: 'OPS-1002', title: '신규 입사자 노트북 세팅 (5명)', priority: 'high', description: '3월 입사자 노트북 및 도킹 스테이션 준비', status: 'open', createdAt: '2025-03-04T00:05:00.000Z' },
  ];
  let nextTicket = 1003;

  return {
    kind: 'ops',
    serverName: 'ops-server',
    install(server) {
      server.registerTool(
        'lookup_inventory',
        {
          title: '재고 조회',
          description: '품목의 현재 재고 수량, 보관 위치, 재주문 필요 여부를 조회합니다. (예: 노트북, 모니터, keyboard)',
          inputSchema: { item_name: z.string().min(1).describe('품목 이름 (한국어 또는 영어)') },
          outputSchema: ItemOutput,
          annotations: { readOnlyHint: true },
        },
        ({ item_name }) => {
          const item = findItem(item_name);
          if (!item) {
            return refusal(`'${item_name}' 품목을 찾을 수 없습니다. 조회 가능한 품목: ${INVENTORY.map((i) => i.name).join(', ')}`);
          }
          const status = stockStatus(item);
          return answer(
            `${item.name} (${item.sku}): 재고 ${item.stock}${item.unit}, 위치 ${item.location} — ${STATUS_KO[status]}`,
            itemFacts(item),
          );
        },
      );

      server.registerTool(
        'create_ticket',
        {
          title: '운영 티켓 생성',
          description: '운영팀 IT/시설 요청 티켓을 생성합니다.',
          inputSchema: {
            title: z.string().min(1).max(200).describe('티켓 제목'),
            priority: z.enum(PRIORITIES).default('medium').describe('우선순위: low, medium, high, urgent'),
            description: z.string().max(2000).optional().describe('상세 설명'),
          },
          outputSchema: {
            id: z.string(),
            title: z.string(),
            priority: z.enum(PRIORITIES),
            description: z.string(),
            status: z.enum(['open', 'in_progress', 'resolved']),
            createdAt: z.string(),
          },
        },
        ({ title, priority, description }) => {
          const ticket: Ticket = {
            id: `OPS-${nextTicket++}`,
            title,
            priority,
            description: description ?? '',
            status: 'open',
            createdAt: new Date().toISOString(),
          };
          tickets.push(ticket);
          return answer(`티켓 ${ticket.id} 생성됨: "${title}" (우선순위 ${PRIORITY_KO[priority]})`, { ...ticket });
        },
      );

      server.registerTool(
        'search',
        {
          title: '운영팀 검색',
          description: '운영팀 데이터(재고 품목과 티켓)를 검색합니다.',
          inputSchema: { query: z.string().min(1).describe('검색어') },
          annotations: { readOnlyHint: true },
        },
        ({ query }) => {
          const wanted = terms(query);
          const items = INVENTORY.filter((item) => score(wanted, [item.name, item.english, item.sku, item.location]) > 0).map(itemFacts);
          const found = tickets.filter((ticket) => score(wanted, [ticket.id, ticket.title, ticket.description]) > 0);
          const lines = [
            ...items.map((item) => `[재고] ${String(item.item)}: ${String(item.stock)}${String(item.unit)} (${String(item.location)})`),
            ...found.map((ticket) => `[티켓] ${ticket.id} ${ticket.title} — ${ticket.status}`),
          ];
          const text = lines.length > 0 ? `운영팀 검색 '${query}': ${lines.length}건\n${lines.join('\n')}` : `운영팀 검색 '${query}': 결과 없음`;
          return answer(text, { team: 'ops', query, inventory: items, tickets: found });
        },
      );
    },
  };
}
