// The demo's composite tool, the seed tutorial's orchestrator made config: an incident report
// for one item from ops (stock), hr (the policy on that equipment) and finance (the budget of
// the department that owns it). Stock and policy run together; the budget waits for the stock.
import type { CompositeConfigInput } from './schema.js';

const REPORT = `=== 인시던트 보고서 / Incident report: {{input.item_name}} ===

[재고 현황 / Stock] (ops)
{{steps.inventory.text}}
{{#with steps.inventory.structured}}
- 품목 / Item: {{item}} ({{english}}), SKU {{sku}}
- 재고 / In stock: {{stock}}{{unit}} (재주문 기준 / reorder level {{reorderLevel}}{{unit}})
- 위치 / Location: {{location}}
{{/with}}

[관련 정책 / Related policy] (hr)
{{#if steps.policy.isError}}
(정책 조회 실패 / policy lookup failed: {{steps.policy.error}})
{{else}}
{{#each steps.policy.structured.policies}}
- [{{id}}] {{title}}: {{summary}}
{{else}}
- 관련 정책 없음 / no policy on this item
{{/each}}
{{/if}}

[예산 / Budget] (finance)
{{steps.budget.text}}

[종합 의견 / Assessment]
{{#if (eq steps.inventory.structured.status "out_of_stock")}}
- 품절: 긴급 구매 요청이 필요합니다. / Out of stock: raise an urgent purchase request.
{{else if (eq steps.inventory.structured.status "low_stock")}}
- 재주문 기준 미만: 운영팀 티켓으로 재주문하세요. / Below the reorder level: reorder through an ops ticket.
{{else}}
- 재고 충분: 추가 구매는 필요하지 않습니다. / Stock is sufficient: no purchase needed.
{{/if}}
{{#if steps.budget.structured.overBudget}}
- {{steps.budget.structured.department}}은(는) 연말 예산 초과가 예상됩니다: 구매 전 재무팀 승인이 필요합니다. / The department is projected over budget: purchases need finance approval.
{{else}}
- {{steps.budget.structured.department}} 예산 여력: 잔액 {{number steps.budget.structured.remaining}}원. / Budget headroom: {{number steps.budget.structured.remaining}} KRW left.
{{/if}}
`;

export const DEMO_COMPOSITE = {
  prefix: 'flow',
  tools: [
    {
      name: 'incident_full_report',
      title: '인시던트 종합 보고서 / Incident report',
      description:
        '품목 하나에 대한 인시던트 보고서: 재고(운영팀), 관련 장비 정책(인사팀), 담당 부서 예산(재무팀)을 함께 조회해 한 문서로 만듭니다. ' +
        'An incident report for one item: its stock (ops), the policy on it (hr) and the owning department\'s budget (finance), combined.',
      inputSchema: {
        type: 'object',
        properties: { item_name: { type: 'string', minLength: 1, description: '품목 이름 / item name (예: 노트북, monitor)' } },
        required: ['item_name'],
        additionalProperties: false,
      },
      timeoutSeconds: 10,
      steps: [
        { id: 'inventory', tool: 'ops__lookup_inventory', arguments: { item_name: '=input.item_name' } },
        // The item's name alone: every policy title contains "정책", so "<item> 관련 정책" matches them all.
        { id: 'policy', tool: 'hr__search_policy', arguments: { query: '=input.item_name' }, optional: true },
        {
          id: 'budget',
          tool: 'fin__calculate_budget',
          // The demo inventory names no owner; its IT stock belongs to the operations team.
          arguments: { department: "=steps.inventory.structured.department ? steps.inventory.structured.department : '운영팀'", months: 3 },
        },
      ],
      output: REPORT,
    },
  ],
} satisfies CompositeConfigInput;
